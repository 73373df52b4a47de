"""Writes a dpsolve input (docs/formats.md) of images under one of the operators of methods.md section 8:

    PYTHONPATH=tools /usr/bin/python3 -m dpstools.make OPERATOR [operator options] [source] --out in.h5

    # the seed's five tasks on Fashion-MNIST test images 0..7 (kernels and box scaled to 32 x 32)
    ... -m dpstools.make inpaint --mask random --missing 0.7 --images 8 --out random.h5
    ... -m dpstools.make inpaint --mask box --images 8 --out box.h5
    ... -m dpstools.make blur --kernel gaussian --images 8 --out gauss.h5
    ... -m dpstools.make blur --kernel motion --images 8 --out motion.h5
    ... -m dpstools.make sr --factor 4 --kind bicubic --images 8 --out sr4.h5
    # 4x single-coil MRI (fastMRI random lines, 8% centre), 8x with 4 simulated coils, 30-view and limited-angle CT
    ... -m dpstools.make mri --kmask random --accel 4 --images 8 --out mri4.h5
    ... -m dpstools.make mri --kmask random --accel 8 --coils 4 --images 8 --out mri8c4.h5
    ... -m dpstools.make ct --views 30 --images 8 --out ct30.h5
    ... -m dpstools.make ct --views 60 --angle-range 120 --images 8 --out ct-limited.h5
    # a user's sparse system matrix (scipy.sparse.save_npz) on an array of ground truths
    ... -m dpstools.make matrix --matrix A.npz --npy x0.npy --data-shape 1,16,16 --out in.h5
    # a folder of photographs at the FFHQ model's size, and an array file
    ... -m dpstools.make blur --kernel motion --folder photos/ --size 256 --out motion256.h5
    ... -m dpstools.make sr --npy x.npy --out sr.h5

Sources: Fashion-MNIST test images (default; --first, --images), --folder DIR (PNG/JPEG, centre-cropped and resized
to --size, RGB in [-1, 1] or --channels 1; the file names are stored as /names), --npy FILE ([N, C, H, W],
[N, H, W] or [N, d] with --data-shape; --range lo,hi its data range, default -1,1).
Lengths follow the protocol at 256 x 256 scaled by H / 256 (dpstools.kernels): at 32 x 32 a 7 x 7 Gaussian of
sigma 0.375 or motion kernel of intensity 0.5, a 16 x 16 box within a 2-pixel margin. Random draws (mask, box,
motion kernel, cs matrix) come from --seed.

y: without --simulate-y the input has no /y, and `dpsolve run` simulates y = A x0 + sigma_y n from its -seed.
--simulate-y K stores the y that `dpsolve run -seed K` would simulate (computed by dpsolve, --dpsolve or
$DPSOLVE or build/dpsolve), so that other tools (baselines, reports) see the same y; dpsolve is the only
definition of A.
"""

import argparse
import os

import numpy as np

from . import cop, kernels, medical, sources, writer


def pair(text, what, n, kind=float):
    try:
        v = [kind(t) for t in text.split(",")]
        assert len(v) == n
        return v
    except (ValueError, AssertionError):
        raise SystemExit(f"{what} {text!r}: {n} comma-separated numbers expected")


# ---- one function per operator: (args, rng, data shape) -> (function filling /operator, description) --------------

def op_inpaint(a, rng, shape):
    _, H, W = shape
    if a.mask == "random":
        if not 0 < a.missing < 1:
            raise SystemExit(f"--missing {a.missing} must be in (0, 1)")
        mask = (rng.random(H * W) >= a.missing).astype(np.float64)
        return (lambda g: writer.inpaint_mask(g, mask)), f"random inpainting, {a.missing:g} of the pixels missing"
    box = pair(a.box, "--box", 4, int) if a.box else kernels.protocol_box(H, W, rng)
    r0, c0, bh, bw = box
    if not (0 <= r0 and 0 <= c0 and bh > 0 and bw > 0 and r0 + bh <= H and c0 + bw <= W):
        raise SystemExit(f"--box {r0},{c0},{bh},{bw} does not fit a {H}x{W} image")
    return (lambda g: writer.inpaint_box(g, box)), (f"box inpainting, rows {r0}..{r0 + bh - 1}, "
                                                    f"columns {c0}..{c0 + bw - 1} missing")


def op_blur(a, rng, shape):
    _, H, _ = shape
    size = a.kernel_size or kernels.scaled_kernel_size(H)
    if a.kernel == "gaussian":
        sigma = a.blur_sigma or kernels.scaled_length(H, kernels.GAUSSIAN_SIGMA)
        k, what = kernels.gaussian(size, sigma), f"Gaussian blur {size}x{size}, sigma {sigma:g}"
    elif a.kernel == "motion":
        k = kernels.motion(size, a.intensity, rng)
        what = f"motion blur {size}x{size}, intensity {a.intensity:g} (seed {a.seed})"
    else:
        k = np.load(a.kernel)
        if not (k.ndim == 2 and np.isfinite(k).all()):
            raise SystemExit(f"--kernel {a.kernel}: a finite 2-D array expected, got shape {k.shape}")
        what = f"blur with the {k.shape[0]}x{k.shape[1]} kernel of {a.kernel}"
    return (lambda g: writer.blur(g, k, a.mode)), f"{what}, {a.mode} boundary"


def op_sr(a, rng, shape):
    _, H, W = shape
    if a.factor < 1 or H % a.factor or W % a.factor:
        raise SystemExit(f"--factor {a.factor} must divide the image size {H}x{W}")
    return (lambda g: writer.sr(g, a.factor, a.kind)), f"{a.factor}x super-resolution ({a.kind})"


def op_cs(a, rng, shape):
    d = int(np.prod(shape))
    mat = rng.standard_normal((a.rows, d)) / np.sqrt(a.rows)
    return (lambda g: writer.cs(g, mat)), f"compressed sensing, {a.rows} Gaussian rows (entries N(0, 1/m))"


def op_mri(a, rng, shape):
    C, H, W = shape
    if C not in (1, 2):
        raise SystemExit(f"mri acts on real images (1, H, W) or complex ones (2, H, W: real, imaginary), not {shape}")
    if a.accel < 1:
        raise SystemExit(f"--accel {a.accel} must be at least 1")
    centre = a.center_fraction if a.center_fraction is not None else (0.08 if a.accel <= 4 else 0.04)
    mask = medical.MASKS[a.kmask](H, W, a.accel, centre, rng)
    if a.maps_cfl:
        maps = medical.maps_from_bart(a.maps_cfl)
        if maps.shape[1:] != (H, W):
            raise SystemExit(f"{a.maps_cfl}: maps are {maps.shape[1]}x{maps.shape[2]}, the images {H}x{W}")
    else:
        maps = medical.coil_maps(a.coils, H, W) if a.coils > 1 else None
    coils = 1 if maps is None else maps.shape[0]
    return (lambda g: writer.mri(g, mask, maps)), (f"{'complex' if C == 2 else 'real'} MRI, {a.kmask} mask sampling "
                                                   f"{int(mask.sum())} of {H * W} ({H * W / mask.sum():.2f}x), "
                                                   f"{coils} coil(s){' (BART maps)' if a.maps_cfl else ''}")


def ct_norm(dpsolve, shape, fill):
    """||A||_2 of the operator written by fill, from its dense matrix (dpsolve's A of the unit vectors)."""
    import tempfile
    d = int(np.prod(shape))
    if d > 16384:
        raise SystemExit(f"--normalise forms A densely: {d} pixels is too many (at most 16384, 128 x 128)")
    with tempfile.TemporaryDirectory(prefix="dpstools-") as tmp:
        path = os.path.join(tmp, "ct.h5")
        writer.write_input(path, x0=np.zeros((1, d)), sigma_y=1.0, data_shape=shape, operator=fill, problem="norm")
        A = cop.apply(dpsolve, path, np.eye(d))
    return float(np.linalg.norm(A, 2))


def op_ct(a, rng, shape):
    _, H, W = shape
    fan = a.source_distance is not None
    if fan != (a.detector_distance is not None):
        raise SystemExit("fan beam needs both --source-distance and --detector-distance")
    degrees = a.angle_range if a.angle_range is not None else (360.0 if fan else 180.0)
    mag = (a.source_distance + a.detector_distance) / a.source_distance if fan else 1.0
    spacing = a.det_spacing or mag  # one pixel at the centre
    count = a.det_count or int(np.ceil(np.hypot(H, W) * mag / spacing)) + 1
    angles = medical.ct_angles(a.views, degrees)
    if a.normalise:
        # A = Joseph / ||Joseph||_2 and sigma_y / ||Joseph||_2 (main): the same problem in units where ||A||_2 = 1,
        # those of the tasks DPS's zeta is set for (inpainting, blur, sr: ||A||_2 <= 1). Joseph's projector has
        # ||A||_2 about sqrt(views x image width) (30.4 for 30 views on 32 x 32), so that DPS's step zeta A^T r / ||r||
        # is 30 times too long in pixel units: 15.1 dB on ct30 against 24.8 dB at zeta / 30.4 (issue 13)
        a.ct_scale = 1.0 / ct_norm(a.dpsolve, shape, lambda g: writer.ct(g, angles, count, spacing, a.source_distance,
                                                                          a.detector_distance))
    return ((lambda g: writer.ct(g, angles, count, spacing, a.source_distance, a.detector_distance,
                                 getattr(a, "ct_scale", None))),
            f"{'fan' if fan else 'parallel'}-beam CT, {a.views} views over {degrees:g} degrees, {count} bins of {spacing:g} px")


def op_matrix(a, rng, shape):
    import scipy.sparse
    A = scipy.sparse.load_npz(a.matrix).tocsr()
    if A.shape[1] != int(np.prod(shape)):
        raise SystemExit(f"--matrix {a.matrix} has {A.shape[1]} columns; the data have {int(np.prod(shape))} entries")
    return (lambda g: writer.matrix(g, A)), f"sparse system matrix {A.shape[0]}x{A.shape[1]} ({A.nnz} nonzeros) of {a.matrix}"


OPERATORS = {"inpaint": op_inpaint, "blur": op_blur, "sr": op_sr, "cs": op_cs, "mri": op_mri, "ct": op_ct,
             "matrix": op_matrix}


def parser():
    p = argparse.ArgumentParser(prog="python3 -m dpstools.make", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="operator", required=True)
    subs = {name: sub.add_parser(name) for name in OPERATORS}
    s = subs["inpaint"]
    s.add_argument("--mask", choices=("random", "box"), required=True)
    s.add_argument("--missing", type=float, default=0.7, help="random: fraction of pixels missing")
    s.add_argument("--box", help="box: row0,col0,height,width (default: the protocol's, drawn from --seed)")
    s = subs["blur"]
    s.add_argument("--kernel", default="gaussian", help="gaussian, motion, or an .npy file [kh, kw] (odd sizes)")
    s.add_argument("--kernel-size", type=int, help="default 61 at 256 x 256, scaled (7 at 32)")
    s.add_argument("--blur-sigma", type=float, help="gaussian: default 3.0 at 256 x 256, scaled (0.375 at 32)")
    s.add_argument("--intensity", type=float, default=kernels.MOTION_INTENSITY, help="motion: in [0, 1]")
    s.add_argument("--mode", choices=("reflect", "circular"), default="reflect")
    s = subs["sr"]
    s.add_argument("--factor", type=int, default=4)
    s.add_argument("--kind", choices=("bicubic", "block"), default="bicubic")
    subs["cs"].add_argument("--rows", type=int, required=True, help="measurements m")
    s = subs["mri"]
    s.add_argument("--kmask", choices=sorted(medical.MASKS), default="random", help="k-space sampling pattern")
    s.add_argument("--accel", type=float, default=4.0, help="acceleration, H W / sampled entries (expected)")
    s.add_argument("--center-fraction", type=float, help="fully sampled centre (fraction of the columns; the disc "
                   "radius for variable-density); default fastMRI's, 0.08 up to 4x and 0.04 beyond")
    s.add_argument("--coils", type=int, default=1, help="simulated coils (1: S = 1)")
    s.add_argument("--maps-cfl", help="coil maps of BART's ecalib (the name of the .cfl/.hdr pair)")
    s = subs["ct"]
    s.add_argument("--views", type=int, default=30, help="projection angles")
    s.add_argument("--angle-range", type=float, help="degrees they span (default 180, fan 360): less is limited-angle")
    s.add_argument("--det-count", type=int, help="detector bins (default: the image diagonal)")
    s.add_argument("--det-spacing", type=float, help="bin width in pixels (default: 1 pixel at the centre)")
    s.add_argument("--source-distance", type=float, help="fan beam: source to centre, pixels")
    s.add_argument("--detector-distance", type=float, help="fan beam: centre to detector, pixels")
    s.add_argument("--normalise", action="store_true", help="store A / ||A||_2 (attribute scale) and sigma_y / "
                   "||A||_2: the same problem in units where ||A||_2 = 1 (DPS's zeta is set for those)")
    subs["matrix"].add_argument("--matrix", required=True, help="scipy.sparse .npz (save_npz), n = d columns")
    for s in subs.values():
        s.add_argument("--out", required=True, help="input file to write (must not exist)")
        src = s.add_mutually_exclusive_group()
        src.add_argument("--folder", help="a folder of PNG/JPEG images (default source: Fashion-MNIST test images)")
        src.add_argument("--npy", help="an .npy array of images")
        s.add_argument("--images", type=int, help="how many images (default: 8 of Fashion-MNIST; all of a folder or array)")
        s.add_argument("--first", type=int, default=0, help="index of the first image")
        s.add_argument("--size", type=int, default=256, help="--folder: the model's image size")
        s.add_argument("--channels", type=int, choices=(1, 3), default=3, help="--folder: RGB or luminance")
        s.add_argument("--data-shape", help="--npy with [N, d] rows: C,H,W")
        s.add_argument("--range", default="-1,1", help="--npy: the data range lo,hi")
        s.add_argument("--sigma-y", type=float, default=0.05, help="noise standard deviation (data units)")
        s.add_argument("--seed", type=int, default=0, help="seed of the mask, box, motion kernel or matrix")
        s.add_argument("--simulate-y", type=int, metavar="K",
                       help="store the y that `dpsolve run -seed K` simulates (default: no /y)")
        s.add_argument("--dpsolve", default=cop.default_dpsolve(), help="for --simulate-y")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    if os.path.exists(a.out):
        raise SystemExit(f"{a.out} exists: remove it first")
    if a.sigma_y <= 0:
        raise SystemExit(f"--sigma-y {a.sigma_y} must be positive")
    first_image = a.first
    if a.folder:
        x, names = sources.folder(a.folder, a.size, a.channels, a.first, a.images)
        where, data_range = f"{len(x)} images of {a.folder}", (-1.0, 1.0)
    elif a.npy:
        shape = pair(a.data_shape, "--data-shape", 3, int) if a.data_shape else None
        x, names = sources.array_file(a.npy, shape, a.first, a.images)
        where, data_range = f"{len(x)} rows of {a.npy}", pair(a.range, "--range", 2)
    else:
        x, names = sources.fmnist(a.first, a.images or 8)
        where, data_range = f"Fashion-MNIST test images {a.first}..{a.first + len(x) - 1}", (-1.0, 1.0)
    n, shape = len(x), x.shape[1:]
    rng = np.random.default_rng(a.seed)
    fill, what = OPERATORS[a.operator](a, rng, shape)
    problem = f"{where}, {what}, sigma_y {a.sigma_y:g}"
    if getattr(a, "ct_scale", None):  # --normalise: sigma_y in the units of the scaled A
        what += f", A and sigma_y scaled by 1/||A||_2 = {a.ct_scale:.6g}"
        problem = f"{where}, {what} (sigma_y {a.sigma_y:g} unscaled)"
        a.sigma_y *= a.ct_scale
    if a.simulate_y is not None:
        problem += f", y as dpsolve run -seed {a.simulate_y} simulates it"
    writer.write_input(a.out, x0=x.reshape(n, -1), sigma_y=a.sigma_y, data_shape=shape, operator=fill,
                       problem=problem, data_range=data_range, seed=a.seed, first_image=first_image, names=names)
    if a.simulate_y is not None:
        import h5py
        y = cop.simulate_y(a.dpsolve, a.out, a.simulate_y)
        with h5py.File(a.out, "r+") as f:
            f["y"] = y
            f.attrs["y_seed"] = np.int64(a.simulate_y)
    print(f"wrote {a.out}: {n} images of {'x'.join(str(v) for v in shape)}, {what}, sigma_y {a.sigma_y:g}"
          + (f", y from dpsolve run -seed {a.simulate_y}" if a.simulate_y is not None else ""))


if __name__ == "__main__":
    main()
