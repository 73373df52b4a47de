"""Writes a dpsolve input (docs/formats.md) from a user's measured data, for the operators mri, ct and matrix
(docs/operators.md, section "Your data"): the input holds y and the operator, no ground truth.

    PYTHONPATH=tools /usr/bin/python3 -m dpstools.convert KIND [options] --sigma-y S --out in.h5

    # undersampled multi-coil k-space and ESPIRiT maps from BART (the .cfl/.hdr pairs, by name)
    ... -m dpstools.convert bart --kspace ksp --maps sens --sigma-y 0.01 --out mri.h5
    # a parallel-beam sinogram [n_angles, n_bins] with its angles (radians), both .npy; ASTRA's geometry
    ... -m dpstools.convert ct --sinogram sino.npy --angles angles.npy --det-spacing 1 --image-size 256,256 \\
        --sigma-y 0.1 --out ct.h5
    # a system matrix (scipy.sparse.save_npz) and measurements y [N, m] (.npy)
    ... -m dpstools.convert matrix --matrix A.npz --y y.npy --data-shape 1,64,64 --sigma-y 0.01 --out m.h5

bart: k-space [X, Y, 1, coils] (BART's dimensions; X = H, Y = W, centred as BART's fft makes it), the sampled
entries those nonzero in some coil (the mask), the maps [X, Y, 1, coils, sets] of `bart ecalib` (the first set);
without --maps one coil and S = 1 (the k-space must then have one coil). Images are complex, data shape (2, H, W)
(--real: (1, H, W), real images). The k-space must be that of dpsolve's F, the centred orthonormal DFT: BART's
`bart fft -u 3` (unitary); data from `bart fft 3` without -u are sqrt(H W) times larger (--scale divides).
ct: ASTRA's conventions (methods.md section 8): 2-D parallel beam `create_proj_geom('parallel',
det_spacing, det_count, angles)` on `create_vol_geom(H, W)`, or fan beam ('fanflat', with --source-distance and
--detector-distance, ASTRA's source_origin and origin_det), lengths in pixels; the sinogram is [angles, bins] as
ASTRA's. Several sinograms: [N, n_angles, n_bins].
matrix: rows of y [N, m] or one y [m]; A [m, d] with d = C H W of --data-shape.
"""

import argparse
import os

import numpy as np

from . import medical, writer


def shape3(text, n):
    try:
        v = [int(t) for t in text.split(",")]
        assert len(v) == n and min(v) > 0
        return v
    except (ValueError, AssertionError):
        raise SystemExit(f"{text!r}: {n} positive comma-separated integers expected")


def bart(a):
    """(y [1, m], data shape, operator filler, what) of a BART k-space and maps."""
    k = medical.read_cfl(a.kspace)
    if k.ndim < 4 or k.shape[2] != 1 or any(d != 1 for d in k.shape[4:]):
        raise SystemExit(f"{a.kspace}: expected BART k-space [X, Y, 1, coils], got dimensions {list(k.shape)}")
    k = np.transpose(k.reshape(k.shape[:4], order="F")[:, :, 0, :], (2, 0, 1)).astype(np.complex128) / a.scale
    coils, H, W = k.shape
    maps = medical.maps_from_bart(a.maps) if a.maps else None
    if maps is None and coils != 1:
        raise SystemExit(f"{a.kspace}: {coils} coils need their maps (--maps)")
    if maps is not None and maps.shape != k.shape:
        raise SystemExit(f"{a.maps}: maps of {maps.shape[0]} coils, {maps.shape[1]}x{maps.shape[2]}; the k-space "
                         f"{a.kspace} has {coils} coils, {H}x{W}")
    mask = (np.abs(k) > 0).any(axis=0)
    if not mask.any():
        raise SystemExit(f"{a.kspace}: every entry is 0")
    kept = k.reshape(coils, -1)[:, mask.reshape(-1)]  # coil by coil, row-major
    y = np.stack([kept.real, kept.imag], axis=-1).reshape(1, -1)
    C = 1 if a.real else 2
    return y, (C, H, W), (lambda g: writer.mri(g, mask.astype(np.float64), maps)), (
        f"BART k-space {a.kspace}: {coils} coil(s), {int(mask.sum())} of {H * W} entries sampled"
        + (f", maps {a.maps}" if a.maps else ""))


def ct(a):
    sino = np.load(a.sinogram)
    angles = np.load(a.angles) if a.angles else None
    if sino.ndim == 2:
        sino = sino[None]
    if sino.ndim != 3 or angles is None or angles.ndim != 1 or sino.shape[1] != len(angles):
        raise SystemExit(f"{a.sinogram}: [n_angles, n_bins] or [N, n_angles, n_bins] with --angles of n_angles "
                         f"(radians) expected, got {sino.shape} and {None if angles is None else angles.shape}")
    fan = a.source_distance is not None
    if fan != (a.detector_distance is not None):
        raise SystemExit("fan beam needs both --source-distance and --detector-distance")
    H, W = shape3(a.image_size, 2)
    n, nang, D = sino.shape
    return sino.reshape(n, -1), (1, H, W), (lambda g: writer.ct(g, angles, D, a.det_spacing, a.source_distance,
                                                                  a.detector_distance)), (
        f"{'fan' if fan else 'parallel'}-beam sinogram {a.sinogram}: {n} x {nang} angles x {D} bins")


def matrix(a):
    import scipy.sparse
    A = scipy.sparse.load_npz(a.matrix).tocsr()
    y = np.atleast_2d(np.load(a.y))
    shape = shape3(a.data_shape, 3)
    if A.shape[1] != int(np.prod(shape)) or y.shape[1] != A.shape[0]:
        raise SystemExit(f"{a.matrix} is {A.shape[0]}x{A.shape[1]}: y rows of {A.shape[0]} and --data-shape of "
                         f"{A.shape[1]} entries needed (y {a.y}: {y.shape}, --data-shape {a.data_shape})")
    return y, tuple(shape), (lambda g: writer.matrix(g, A)), f"system matrix {a.matrix} ({A.shape[0]}x{A.shape[1]})"


KINDS = {"bart": bart, "ct": ct, "matrix": matrix}


def parser():
    p = argparse.ArgumentParser(prog="python3 -m dpstools.convert", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)
    s = sub.add_parser("bart")
    s.add_argument("--kspace", required=True, help="BART k-space (name of the .cfl/.hdr pair)")
    s.add_argument("--maps", help="BART ecalib maps (name of the pair); none: one coil, S = 1")
    s.add_argument("--real", action="store_true", help="real images (1, H, W) instead of complex (2, H, W)")
    s.add_argument("--scale", type=float, default=1.0, help="divide the k-space by this (sqrt(H W) for bart fft without -u)")
    s = sub.add_parser("ct")
    s.add_argument("--sinogram", required=True, help=".npy [n_angles, n_bins] or [N, n_angles, n_bins]")
    s.add_argument("--angles", required=True, help=".npy of the angles (radians)")
    s.add_argument("--image-size", required=True, help="H,W of the image to reconstruct (pixels)")
    s.add_argument("--det-spacing", type=float, default=1.0, help="bin width in pixels")
    s.add_argument("--source-distance", type=float, help="fan beam: source to centre, pixels")
    s.add_argument("--detector-distance", type=float, help="fan beam: centre to detector, pixels")
    s = sub.add_parser("matrix")
    s.add_argument("--matrix", required=True, help="scipy.sparse .npz (save_npz), m x d")
    s.add_argument("--y", required=True, help=".npy [N, m] or [m]")
    s.add_argument("--data-shape", required=True, help="C,H,W with C H W = d")
    for s in sub.choices.values():
        s.add_argument("--sigma-y", type=float, required=True, help="noise standard deviation of y")
        s.add_argument("--out", required=True, help="input file to write (must not exist)")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    if os.path.exists(a.out):
        raise SystemExit(f"{a.out} exists: remove it first")
    y, shape, fill, what = KINDS[a.kind](a)
    if not np.isfinite(y).all():
        raise SystemExit(f"the measurements hold non-finite values ({what})")
    writer.write_input(a.out, y=y, sigma_y=a.sigma_y, data_shape=shape, operator=fill,
                       problem=f"{what}, sigma_y {a.sigma_y:g}")
    print(f"wrote {a.out}: {len(y)} measurement(s) of {y.shape[1]} values, images {'x'.join(map(str, shape))}; {what}")


if __name__ == "__main__":
    main()
