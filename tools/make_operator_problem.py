#!/usr/bin/python3
"""Writes dpsolve inputs (docs/formats.md) with the scientific and medical operators of methods.md section 8:

    # 4x single-coil MRI of Fashion-MNIST test images (fastMRI random lines, 8% centre)
    /usr/bin/python3 tools/make_operator_problem.py mri --mask random --accel 4 --images 8 --out in-mri.h5
    # 4 simulated coils, 2-D variable-density mask
    /usr/bin/python3 tools/make_operator_problem.py mri --mask variable-density --coils 4 --out in-mri4.h5
    # coil maps from BART's ecalib (maps.cfl / maps.hdr)
    /usr/bin/python3 tools/make_operator_problem.py mri --maps-cfl maps --out in-mri-bart.h5
    # 30-view parallel-beam CT, and 60 views over a limited 120 degrees (y is simulated by dpsolve from /x0)
    /usr/bin/python3 tools/make_operator_problem.py ct --views 30 --out in-ct30.h5
    /usr/bin/python3 tools/make_operator_problem.py ct --views 60 --range 120 --out in-ct-limited.h5
    # a user's sparse system matrix (scipy.sparse.save_npz) with ground truth x0 [N, n] (numpy .npy)
    /usr/bin/python3 tools/make_operator_problem.py matrix --matrix A.npz --x0 x0.npy --sigma-y 0.01 --out in.h5

The functions (masks, coil maps, the operator writers, the numpy reference of mri's A) are importable:
write_matrix_operator, write_mri_operator, write_ct_operator, ct_angles, mri_forward, mask_random_lines, mask_equispaced_lines,
mask_variable_density, coil_maps, read_cfl. Needs python3-numpy and python3-h5py (and python3-scipy for .npz).
"""

import argparse
import os
import sys

import h5py
import numpy as np

# ----------------------------------------------------------------------------------------------- writers


def write_matrix_operator(f, A, group="operator"):
    """Writes the sparse m x n matrix A (anything scipy.sparse.csr_matrix accepts, or a tuple
    (data, indices, indptr, shape)) as the `matrix` operator: attribute shape = (m, n), datasets data [nnz]
    (float64), indices [nnz] and indptr [m + 1] (int64). Repeated (row, column) pairs are summed by dpsolve."""
    if isinstance(A, tuple):
        data, indices, indptr, shape = A
    else:
        import scipy.sparse
        csr = scipy.sparse.csr_matrix(A)
        data, indices, indptr, shape = csr.data, csr.indices, csr.indptr, csr.shape
    g = f.require_group(group)
    g.attrs["type"] = np.bytes_("matrix")  # fixed-length ASCII, as the C library reads it
    g.attrs["shape"] = np.array(shape, dtype=np.int64)
    g["data"] = np.asarray(data, dtype=np.float64)
    g["indices"] = np.asarray(indices, dtype=np.int64)
    g["indptr"] = np.asarray(indptr, dtype=np.int64)
    return g


def write_mri_operator(f, mask, maps=None, group="operator"):
    """Writes the `mri` operator: mask [H, W] of 0/1 in centred k-space (centre at (H // 2, W // 2)) and, when
    given, the complex coil maps [coils, H, W] as maps [coils, H, W, 2] (real, imaginary). No maps: S = 1."""
    g = f.require_group(group)
    g.attrs["type"] = np.bytes_("mri")
    g["mask"] = np.asarray(mask, dtype=np.float64)
    if maps is not None:
        maps = np.asarray(maps, dtype=np.complex128)
        g["maps"] = np.stack([maps.real, maps.imag], axis=-1)
    return g


def write_ct_operator(f, angles, det_count, det_spacing=1.0, source_distance=None, detector_distance=None,
                      group="operator"):
    """Writes the `ct` operator (Joseph's projector, methods.md section 8): parallel beam, or fan beam (flat
    detector) when source_distance is given; lengths in pixels, angles in radians (ASTRA's conventions)."""
    g = f.require_group(group)
    g.attrs["type"] = np.bytes_("ct")
    g.attrs["geometry"] = np.bytes_("parallel" if source_distance is None else "fan")
    g.attrs["det_count"] = np.int64(det_count)
    g.attrs["det_spacing"] = np.float64(det_spacing)
    if source_distance is not None:
        g.attrs["source_distance"] = np.float64(source_distance)
        g.attrs["detector_distance"] = np.float64(detector_distance)
    g["angles"] = np.asarray(angles, dtype=np.float64)
    return g


def ct_angles(views, range_degrees):
    """views angles equally spaced over [0, range) (radians): 180 degrees is a full parallel-beam set (360 for
    fan beam); fewer views is sparse-view CT, a smaller range limited-angle CT."""
    return np.arange(views) * np.deg2rad(range_degrees) / views


def mri_forward(x, mask, maps=None):
    """numpy's A x for the mri operator (methods.md section 8): x [H, W] real or complex; returns the flat real
    y of length 2 coils nsampled: per coil, the sampled entries of fftshift(fft2(ifftshift(S_c x), norm="ortho"))
    in row-major order, each as (real, imaginary)."""
    maps = np.ones((1,) + mask.shape) if maps is None else maps
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(maps * x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    kept = k[:, mask == 1]
    return np.stack([kept.real, kept.imag], axis=-1).reshape(-1)


# ----------------------------------------------------------------------------------------------- masks
# Every mask is [H, W] in centred k-space; lines are columns (the phase-encoding direction is W, as fastMRI).


def centre_columns(W, center_fraction):
    """fastMRI's fully sampled centre: round(W * fraction) columns from (W - n + 1) // 2."""
    n = int(round(W * center_fraction))
    pad = (W - n + 1) // 2
    return n, np.arange(pad, pad + n)


def mask_random_lines(H, W, accel, center_fraction, rng):
    """fastMRI's RandomMaskFunc: the centre columns, and each other column with probability
    (W / accel - n_centre) / (W - n_centre): 4x with 0.08 centre, 8x with 0.04, as fastMRI's knee challenge."""
    n, centre = centre_columns(W, center_fraction)
    prob = (W / accel - n) / (W - n)
    cols = rng.uniform(size=W) < prob
    cols[centre] = True
    return np.repeat(cols[None, :], H, axis=0).astype(np.float64)


def mask_equispaced_lines(H, W, accel, center_fraction, rng):
    """fastMRI's EquispacedMaskFunc: the centre columns, and the columns at spacing
    a = accel (n_centre - W) / (n_centre accel - W) from a random offset in [0, round(a)), rounded."""
    n, centre = centre_columns(W, center_fraction)
    cols = np.zeros(W, dtype=bool)
    cols[centre] = True
    a = accel * (n - W) / (n * accel - W) if n else float(accel)
    offset = rng.integers(0, max(1, round(a)))
    cols[np.around(np.arange(offset, W - 1, a)).astype(int)] = True
    return np.repeat(cols[None, :], H, axis=0).astype(np.float64)


def mask_variable_density(H, W, accel, center_fraction, rng, power=2.0):
    """2-D variable-density random pattern: entry k sampled with probability min(1, c (1 - r)^power), r the
    distance from the k-space centre over the largest distance (r = 0 at the centre, 1 at the corners), c found
    by bisection so that the expected count is H W / accel; the disc r <= center_fraction is always sampled."""
    i, j = np.meshgrid(np.arange(H) - H // 2, np.arange(W) - W // 2, indexing="ij")
    r = np.hypot(i / (H / 2), j / (W / 2))
    r = r / r.max()
    target = H * W / accel
    lo, hi = 0.0, 1e6
    for _ in range(200):
        c = 0.5 * (lo + hi)
        p = np.where(r <= center_fraction, 1.0, np.minimum(1.0, c * (1 - r) ** power))
        lo, hi = (c, hi) if p.sum() < target else (lo, c)
    return (rng.uniform(size=(H, W)) < p).astype(np.float64)


MASKS = {"random": mask_random_lines, "equispaced": mask_equispaced_lines, "variable-density": mask_variable_density}


# ----------------------------------------------------------------------------------------------- coil maps


def coil_maps(coils, H, W, width=1.0, radius=1.5, cycles=0.25):
    """Simulated smooth coil maps [coils, H, W] (complex): coil c sits at q_c = radius (cos t_c, sin t_c),
    t_c = 2 pi c / coils, in coordinates where the image spans [-1, 1] x [-1, 1] (rows, columns); its raw map is
    exp(-|p - q_c|^2 / (2 width^2)) exp(2 pi i cycles <p, q_c / radius>) (a Gaussian fall-off with a linear phase
    ramp); the maps are then normalised so that sum_c |S_c|^2 = 1 at every pixel, as ESPIRiT's maps are."""
    r = np.linspace(-1, 1, H)[:, None] * np.ones((1, W))
    s = np.ones((H, 1)) * np.linspace(-1, 1, W)[None, :]
    out = np.empty((coils, H, W), dtype=np.complex128)
    for c in range(coils):
        t = 2 * np.pi * c / coils
        qr, qs = radius * np.cos(t), radius * np.sin(t)
        mag = np.exp(-((r - qr) ** 2 + (s - qs) ** 2) / (2 * width ** 2))
        out[c] = mag * np.exp(2j * np.pi * cycles * (r * qr + s * qs) / radius)
    return out / np.sqrt((np.abs(out) ** 2).sum(axis=0, keepdims=True))


def read_cfl(name):
    """BART's name.cfl / name.hdr: complex64, column-major, dimensions from the header's second line."""
    with open(name + ".hdr") as h:
        h.readline()
        dims = [int(v) for v in h.readline().split()]
    data = np.fromfile(name + ".cfl", dtype=np.complex64)
    if data.size != int(np.prod(dims)):
        raise SystemExit(f"{name}.cfl holds {data.size} values but {name}.hdr says {dims}")
    return data.reshape(dims, order="F")


def maps_from_bart(name):
    """ecalib's maps [X, Y, 1, coils, sets] as [coils, H, W] with H = X, W = Y, the first ESPIRiT set."""
    m = read_cfl(name)
    if m.ndim < 4 or any(d != 1 for d in m.shape[2:3]):
        raise SystemExit(f"{name}: expected ecalib maps [X, Y, 1, coils, ...], got dimensions {list(m.shape)}")
    m = m.reshape(m.shape[:4] + (-1,), order="F")[:, :, 0, :, 0]
    return np.transpose(m, (2, 0, 1)).astype(np.complex128)


# ----------------------------------------------------------------------------------------------- command line


def write_input(out, x0, y, sigma_y, data_shape, fill_operator, problem, data_range=None, seed=None):
    partial = out + ".partial"
    with h5py.File(partial, "w") as f:
        if x0 is not None:
            f["x0"] = x0
        if y is not None:  # else dpsolve simulates y = A x0 + sigma_y n from the run's seed
            f["y"] = y
        fill_operator(f)
        f.attrs["sigma_y"] = np.float64(sigma_y)
        f.attrs["data_shape"] = np.array(data_shape, dtype=np.int64)
        if data_range is not None:
            f.attrs["data_range"] = np.array(data_range, dtype=np.float64)
        if seed is not None:
            f.attrs["seed"] = np.int64(seed)
        f.attrs["problem"] = np.bytes_(problem)
    os.replace(partial, out)


def main_mri(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fmnist  # noqa: E402
    test = fmnist.load_images("t10k")
    if not (0 <= args.first and args.images >= 1 and args.first + args.images <= len(test)):
        raise SystemExit(f"--first {args.first} --images {args.images}: the test split has {len(test)} images")
    x = test[args.first:args.first + args.images, 0].astype(np.float64)
    n, H, W = x.shape
    rng = np.random.default_rng(args.seed)
    centre = args.center_fraction if args.center_fraction is not None else (0.08 if args.accel <= 4 else 0.04)
    mask = MASKS[args.mask](H, W, args.accel, centre, rng)
    if args.maps_cfl:
        maps = maps_from_bart(args.maps_cfl)
        if maps.shape[1:] != (H, W):
            raise SystemExit(f"{args.maps_cfl}: maps are {maps.shape[1]}x{maps.shape[2]}, the images {H}x{W}")
    else:
        maps = coil_maps(args.coils, H, W) if args.coils > 1 else None
    C = 2 if args.complex else 1
    x0 = np.zeros((n, C, H, W))
    x0[:, 0] = x  # complex images: the real image, imaginary part 0
    y = np.stack([mri_forward(xi, mask, maps) for xi in x])
    y = y + args.sigma_y * rng.standard_normal(y.shape)
    coils = 1 if maps is None else maps.shape[0]
    write_input(args.out, x0.reshape(n, -1), y, args.sigma_y, (C, H, W), lambda f: write_mri_operator(f, mask, maps),
                f"Fashion-MNIST test images {args.first}..{args.first + n - 1}, mri {args.mask} mask "
                f"{H * W / mask.sum():.2f}x ({int(mask.sum())} of {H * W}), {coils} coil(s), sigma_y {args.sigma_y:g}",
                data_range=[-1.0, 1.0], seed=args.seed)
    print(f"wrote {args.out}: {n} images of {C}x{H}x{W}, {args.mask} mask sampling {int(mask.sum())} of {H * W} "
          f"(acceleration {H * W / mask.sum():.2f}), {coils} coil(s), m = {y.shape[1]}")


def main_ct(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fmnist  # noqa: E402
    test = fmnist.load_images("t10k")
    if not (0 <= args.first and args.images >= 1 and args.first + args.images <= len(test)):
        raise SystemExit(f"--first {args.first} --images {args.images}: the test split has {len(test)} images")
    x0 = test[args.first:args.first + args.images].astype(np.float64)
    n, C, H, W = x0.shape
    fan = args.source_distance is not None
    rng_deg = args.range if args.range is not None else (360.0 if fan else 180.0)
    diag = np.hypot(H, W)
    mag = (args.source_distance + args.detector_distance) / args.source_distance if fan else 1.0
    spacing = args.det_spacing if args.det_spacing else mag  # one pixel at the centre
    count = args.det_count if args.det_count else int(np.ceil(diag * mag / spacing)) + 1
    angles = ct_angles(args.views, rng_deg)

    def fill(f):
        write_ct_operator(f, angles, count, spacing, args.source_distance if fan else None,
                          args.detector_distance if fan else None)
    write_input(args.out, x0.reshape(n, -1), None, args.sigma_y, (C, H, W), fill,
                f"Fashion-MNIST test images {args.first}..{args.first + n - 1}, ct {'fan' if fan else 'parallel'} beam, "
                f"{args.views} views over {rng_deg:g} degrees, {count} bins of {spacing:g} px, sigma_y {args.sigma_y:g}",
                data_range=[-1.0, 1.0], seed=args.seed)
    print(f"wrote {args.out}: {n} images of {C}x{H}x{W}, {'fan' if fan else 'parallel'} beam, {args.views} views over "
          f"{rng_deg:g} degrees, {count} bins; /y is simulated by dpsolve from /x0")


def main_matrix(args):
    import scipy.sparse
    A = scipy.sparse.load_npz(args.matrix).tocsr()
    x0 = np.load(args.x0) if args.x0 else None
    y = np.load(args.y) if args.y else None
    if x0 is None and y is None:
        raise SystemExit("give --x0 (then y = A x0 + sigma_y n) or --y")
    if x0 is not None:
        x0 = np.atleast_2d(np.asarray(x0, dtype=np.float64))
        if x0.shape[1] != A.shape[1]:
            raise SystemExit(f"--x0 rows have {x0.shape[1]} entries; the matrix has {A.shape[1]} columns")
        if y is None:
            rng = np.random.default_rng(args.seed)
            y = (A @ x0.T).T + args.sigma_y * rng.standard_normal((x0.shape[0], A.shape[0]))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    shape = [int(v) for v in args.data_shape.split(",")] if args.data_shape else [A.shape[1]]
    write_input(args.out, x0, y, args.sigma_y, shape, lambda f: write_matrix_operator(f, A),
                f"sparse system matrix {A.shape[0]}x{A.shape[1]} ({A.nnz} nonzeros) from {args.matrix}", seed=args.seed)
    print(f"wrote {args.out}: {y.shape[0]} inputs, A {A.shape[0]}x{A.shape[1]} with {A.nnz} nonzeros")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="operator", required=True)
    m = sub.add_parser("mri", help="Fashion-MNIST test images under A = M F S")
    m.add_argument("--out", required=True)
    m.add_argument("--mask", choices=sorted(MASKS), default="random")
    m.add_argument("--accel", type=float, default=4.0, help="acceleration (H W / sampled entries, in expectation)")
    m.add_argument("--center-fraction", type=float, default=None,
                   help="fully sampled centre (fraction of columns; disc radius for variable-density); "
                        "default fastMRI's: 0.08 up to 4x, 0.04 beyond")
    m.add_argument("--coils", type=int, default=1, help="simulated coils (1: S = 1)")
    m.add_argument("--maps-cfl", help="BART ecalib maps (name of the .cfl/.hdr pair) instead of simulated ones")
    m.add_argument("--complex", action="store_true", help="complex images, data_shape (2, H, W)")
    m.add_argument("--images", type=int, default=8)
    m.add_argument("--first", type=int, default=0)
    m.add_argument("--sigma-y", type=float, default=0.05)
    m.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("ct", help="Fashion-MNIST test images under Joseph's CT projector")
    c.add_argument("--out", required=True)
    c.add_argument("--views", type=int, default=30, help="projection angles")
    c.add_argument("--range", type=float, default=None, help="degrees they span (default 180; fan 360)")
    c.add_argument("--det-count", type=int, default=None, help="detector bins (default: the image diagonal)")
    c.add_argument("--det-spacing", type=float, default=None, help="bin width in pixels (default 1 at the centre)")
    c.add_argument("--source-distance", type=float, default=None, help="fan beam: source to centre, pixels")
    c.add_argument("--detector-distance", type=float, default=None, help="fan beam: centre to detector, pixels")
    c.add_argument("--images", type=int, default=8)
    c.add_argument("--first", type=int, default=0)
    c.add_argument("--sigma-y", type=float, default=0.05)
    c.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("matrix", help="a sparse system matrix from scipy.sparse.save_npz")
    s.add_argument("--out", required=True)
    s.add_argument("--matrix", required=True, help="scipy.sparse .npz (save_npz)")
    s.add_argument("--x0", help=".npy [N, n] ground truth")
    s.add_argument("--y", help=".npy [N, m] measurements")
    s.add_argument("--data-shape", help="C,H,W (default: n)")
    s.add_argument("--sigma-y", type=float, required=True)
    s.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out} exists: remove it first")
    if args.sigma_y <= 0:
        raise SystemExit(f"--sigma-y {args.sigma_y} must be positive")
    if args.operator == "mri":
        if args.accel < 1:
            raise SystemExit(f"--accel {args.accel} must be at least 1")
        main_mri(args)
    elif args.operator == "ct":
        if (args.source_distance is None) != (args.detector_distance is None):
            raise SystemExit("fan beam needs both --source-distance and --detector-distance")
        main_ct(args)
    else:
        main_matrix(args)


if __name__ == "__main__":
    main()
