#!/usr/bin/python3
"""PSNR/SSIM table and PNG grid of an image run of dpsolve:

    /usr/bin/python3 tools/image_report.py out-random.h5 out-box.h5 --png demo.png --csv demo.csv

For every output file (and its input, named by the output's `input` attribute, or --input): per image, the
PSNR and SSIM (tools/image_metrics.py: 11x11 Gaussian window, sigma 1.5; data range 2 for images in [-1, 1];
estimates clipped to that range as images are) of the posterior mean, the average over the single draws, and of
the measurement with its missing pixels at 0 (the zero-filled baseline). Prints a table per file and the mean
over the images; --csv writes every number.

The PNG: one row per image, the columns truth, measurement (missing pixels red), the first --draws posterior
draws, posterior mean and posterior std (its own scale, 0 black to the largest std of the file white), each
image magnified --zoom times. Several output files are stacked, each under a label row.
--draws-only: no metrics, and a grid of the draws alone (one row per input), e.g. for unconditional ddpm runs.
Needs python3-numpy, python3-h5py and python3-pil.
"""

import argparse
import csv
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image_metrics  # noqa: E402

RANGE = (-1.0, 1.0)
DATA_RANGE = RANGE[1] - RANGE[0]


def text(attr):
    """A string attribute as h5py returns it (bytes for fixed-length strings, str otherwise)."""
    return attr.decode() if isinstance(attr, bytes) else str(attr)


def read_run(path, input_path=None):
    with h5py.File(path, "r") as f:
        for name in ("samples", "x0", "y"):
            if name not in f:
                raise SystemExit(f"{path}: no dataset /{name} (an output of dpsolve run on an input with /x0?)")
        if int(f.attrs.get("complete", 0)) != 1:
            raise SystemExit(f"{path}: the run is not complete (attribute complete != 1)")
        shape = tuple(int(v) for v in f.attrs["data_shape"])
        samples, x0, y = f["samples"][...], f["x0"][...], f["y"][...]
        if input_path is None:
            input_path = text(f.attrs["input"])
    with h5py.File(input_path, "r") as f:
        if "operator/mask" not in f:
            raise SystemExit(f"{input_path}: no /operator/mask: the report is for inpainting inputs")
        mask = f["operator/mask"][...]
        problem = text(f.attrs.get("problem", b""))
    if len(shape) != 3 or int(np.prod(shape)) != x0.shape[1]:
        raise SystemExit(f"{path}: attribute data_shape {shape} does not describe rows of {x0.shape[1]} entries")
    n, s = samples.shape[:2]
    return dict(path=path, shape=shape, samples=samples.reshape(n, s, *shape), x0=x0.reshape(n, *shape),
                y=y.reshape(n, *shape), mask=mask.reshape(shape), problem=problem)


def draws_grid(runs, zoom, pad=2):
    """Every draw of every input of the runs: one row per input."""
    from PIL import Image
    rows = [[to_rgb(d, *RANGE) for d in run["samples"][i]] for run in runs for i in range(len(run["samples"]))]
    h, w = runs[0]["shape"][1] * zoom, runs[0]["shape"][2] * zoom
    ncol = max(len(r) for r in rows)
    out = Image.new("RGB", (ncol * (w + pad) + pad, len(rows) * (h + pad) + pad), (255, 255, 255))
    paste_rows(out, rows, 0, (w, h), pad)
    return out


def paste_rows(out, rows, top, size, pad):
    """Paste rows of tiles (uint8 RGB arrays), each magnified to size = (w, h), below `top` with `pad` pixels
    between them; returns the new top."""
    from PIL import Image
    w, h = size
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            out.paste(Image.fromarray(tile).resize((w, h), Image.NEAREST), (pad + c * (w + pad), top + pad + r * (h + pad)))
    return top + len(rows) * (h + pad)


def metrics(run):
    rows = []
    clip = (lambda v: np.clip(v, *RANGE))
    for i in range(len(run["x0"])):
        truth, draws = run["x0"][i], clip(run["samples"][i])
        mean = clip(run["samples"][i].mean(axis=0))
        zero_filled = clip(run["y"][i] * run["mask"])
        rows.append(dict(
            image=i,
            psnr_mean=image_metrics.psnr(mean, truth, DATA_RANGE),
            ssim_mean=image_metrics.ssim(mean, truth, DATA_RANGE),
            psnr_draw=float(np.mean([image_metrics.psnr(d, truth, DATA_RANGE) for d in draws])),
            ssim_draw=float(np.mean([image_metrics.ssim(d, truth, DATA_RANGE) for d in draws])),
            psnr_zero_filled=image_metrics.psnr(zero_filled, truth, DATA_RANGE),
            ssim_zero_filled=image_metrics.ssim(zero_filled, truth, DATA_RANGE)))
    return rows


def to_rgb(img, lo, hi):
    """(C, H, W) -> (H, W, 3) uint8, lo black and hi white; a 1-channel image becomes gray."""
    v = np.clip((img - lo) / (hi - lo), 0, 1)
    v = np.repeat(v, 3, axis=0) if v.shape[0] == 1 else v
    return (255 * v.transpose(1, 2, 0) + 0.5).astype(np.uint8)


def grid(runs, draws, zoom, pad=2):
    from PIL import Image, ImageDraw
    tiles = []
    for run in runs:
        n, s = run["samples"].shape[:2]
        k = min(draws, s)
        std = run["samples"].std(axis=1, ddof=1) if s > 1 else np.zeros_like(run["x0"])
        smax = max(float(std.max()), 1e-12)
        rows = []
        for i in range(n):
            meas = to_rgb(run["y"][i], *RANGE)
            meas[run["mask"].max(axis=0) == 0] = (200, 30, 30)
            row = [to_rgb(run["x0"][i], *RANGE), meas]
            row += [to_rgb(run["samples"][i, j], *RANGE) for j in range(k)]
            row += [to_rgb(run["samples"][i].mean(axis=0), *RANGE), to_rgb(std[i], 0.0, smax)]
            rows.append(row)
        tiles.append((run, rows, k))
    h, w = runs[0]["shape"][1] * zoom, runs[0]["shape"][2] * zoom
    ncol = max(len(rows[0]) for _, rows, _ in tiles)
    label_h = 14
    height = sum(label_h + len(rows) * (h + pad) for _, rows, _ in tiles)
    out = Image.new("RGB", (ncol * (w + pad) + pad, height + pad), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    y0 = 0
    for run, rows, k in tiles:
        labels = ["truth", "measured"] + [f"draw {j + 1}" for j in range(k)] + ["mean", "std"]
        draw.text((pad, y0 + 2), os.path.basename(run["path"]) + ": " + run["problem"], fill=(0, 0, 0))
        y0 = paste_rows(out, rows, y0 + label_h, (w, h), pad)
    return out, labels


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outputs", nargs="+", help="outputs of dpsolve run")
    p.add_argument("--input", action="append", help="the input of each output (default: its `input` attribute)")
    p.add_argument("--png", help="write the image grid here")
    p.add_argument("--csv", help="write the per-image metrics here")
    p.add_argument("--draws", type=int, default=3, help="draws shown per image")
    p.add_argument("--zoom", type=int, default=3)
    p.add_argument("--draws-only", action="store_true", help="only a grid of all draws (needs --png)")
    args = p.parse_args(argv)
    if args.input and len(args.input) != len(args.outputs):
        raise SystemExit("give --input once per output file, or never")
    runs = [read_run(o, args.input[i] if args.input else None) for i, o in enumerate(args.outputs)]
    if len({r["shape"] for r in runs}) != 1:
        raise SystemExit("the outputs hold images of different shapes")
    if args.draws_only:
        if not args.png:
            raise SystemExit("--draws-only draws a grid: give --png")
        draws_grid(runs, args.zoom).save(args.png)
        print(f"wrote {args.png}: {sum(len(r['samples']) for r in runs)} rows of draws")
        return
    table = []
    for run in runs:
        rows = metrics(run)
        print(f"{run['path']}: {run['problem']}")
        print(f"  {'image':>5}  {'PSNR mean':>9}  {'SSIM mean':>9}  {'PSNR draw':>9}  {'SSIM draw':>9}  "
              f"{'PSNR y':>7}  {'SSIM y':>7}")
        for r in rows + [dict({k: np.mean([q[k] for q in rows]) for k in rows[0]}, image="all")]:
            print(f"  {r['image']:>5}  {r['psnr_mean']:9.2f}  {r['ssim_mean']:9.3f}  {r['psnr_draw']:9.2f}  "
                  f"{r['ssim_draw']:9.3f}  {r['psnr_zero_filled']:7.2f}  {r['ssim_zero_filled']:7.3f}")
        table += [dict(output=run["path"], **r) for r in rows]
    print("(mean: the posterior mean; draw: the average over single draws; y: the zero-filled measurement;"
          " PSNR in dB for the range [-1, 1], SSIM with an 11x11 Gaussian window, sigma 1.5)")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(table[0]))
            w.writeheader()
            w.writerows(table)
    if args.png:
        img, labels = grid(runs, args.draws, args.zoom)
        img.save(args.png)
        print(f"wrote {args.png}: columns {', '.join(labels)}")


if __name__ == "__main__":
    main()
