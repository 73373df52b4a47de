#!/usr/bin/python3
"""Writes a dpsolve input file (docs/formats.md) of Fashion-MNIST test images under an inpainting operator:

    /usr/bin/python3 tools/make_image_problem.py --mask random --images 8 --out in-random.h5
    /usr/bin/python3 tools/make_image_problem.py --mask box --images 8 --out in-box.h5

The images are the first --images of the held-out test split (tools/fmnist.py: 32x32, [-1, 1]; the shipped
model never saw them). --mask random: each pixel missing with probability --missing (one mask for all images,
drawn from --seed); --mask box: the --box (row0, col0, height, width) missing. y = mask * (x0 + sigma_y n), n
standard normal from --seed, written as /y; /x0 holds the truth; data_shape is (1, 32, 32).
The file is written by the dpstools package's writer (tools/dpstools; `python3 -m dpstools.make` makes every
other task); y is drawn here, with numpy, as this tool always has, so that earlier inputs are reproduced bit for bit.
Needs python3-numpy and python3-h5py.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dpstools import sources, writer  # noqa: E402


def make_mask(kind, shape, missing, box, rng):
    h, w = shape
    if kind == "random":
        return (rng.random(h * w) >= missing).astype(np.float64)
    r0, c0, bh, bw = box
    if not (0 <= r0 and 0 <= c0 and bh > 0 and bw > 0 and r0 + bh <= h and c0 + bw <= w):
        raise SystemExit(f"--box {r0},{c0},{bh},{bw} does not fit a {h}x{w} image")
    mask = np.ones((h, w))
    mask[r0:r0 + bh, c0:c0 + bw] = 0.0
    return mask.reshape(-1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="input file to write (must not exist)")
    p.add_argument("--mask", choices=("random", "box"), required=True)
    p.add_argument("--images", type=int, default=8, help="how many test images (from the first)")
    p.add_argument("--first", type=int, default=0, help="index of the first test image")
    p.add_argument("--missing", type=float, default=0.7, help="random: fraction of pixels missing")
    p.add_argument("--box", default="8,8,16,16", help="box: row0,col0,height,width of the missing box")
    p.add_argument("--sigma-y", type=float, default=0.05, help="noise standard deviation (image range [-1, 1])")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out} exists: remove it first")
    if not 0 < args.missing < 1:
        raise SystemExit(f"--missing {args.missing} must be in (0, 1)")
    if args.sigma_y <= 0:
        raise SystemExit(f"--sigma-y {args.sigma_y} must be positive")
    try:
        box = [int(v) for v in args.box.split(",")]
        assert len(box) == 4
    except (ValueError, AssertionError):
        raise SystemExit(f"--box {args.box!r} must be four integers row0,col0,height,width")

    test = sources.load_fmnist("t10k")
    if not (0 <= args.first and args.images >= 1 and args.first + args.images <= len(test)):
        raise SystemExit(f"--first {args.first} --images {args.images}: the test split has {len(test)} images")
    x0 = test[args.first:args.first + args.images].astype(np.float64)
    n, c, h, w = x0.shape
    x0 = x0.reshape(n, c * h * w)
    rng = np.random.default_rng(args.seed)
    mask = make_mask(args.mask, (h, w), args.missing, box, rng)
    y = mask * (x0 + args.sigma_y * rng.standard_normal(x0.shape))

    what = (f"random, {args.missing:g} of the pixels missing" if args.mask == "random"
            else f"box rows {box[0]}..{box[0] + box[2] - 1}, columns {box[1]}..{box[1] + box[3] - 1} missing")
    writer.write_input(args.out, x0=x0, y=y, sigma_y=args.sigma_y, data_shape=(c, h, w),
                       operator=lambda g: writer.inpaint_mask(g, mask), data_range=(-1.0, 1.0), seed=args.seed,
                       first_image=args.first,
                       problem=f"Fashion-MNIST test images {args.first}..{args.first + n - 1}, "
                               f"inpainting ({what}), sigma_y {args.sigma_y:g}")
    print(f"wrote {args.out}: {n} images of 1x{h}x{w}, {int(mask.sum())} of {h * w} pixels observed, "
          f"sigma_y {args.sigma_y:g}")


if __name__ == "__main__":
    main()
