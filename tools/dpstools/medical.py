"""The medical and scientific operators' inputs (methods.md section 8, operators mri and ct): k-space masks,
simulated coil maps, BART's coil maps, CT angle sets. The operators' groups are written by dpstools.writer
(mri, ct, matrix); A itself is defined by dpsolve alone (dpstools.cop applies it)."""

import numpy as np

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


# ----------------------------------------------------------------------------------------------- ct


def ct_angles(views, range_degrees):
    """views angles equally spaced over [0, range) (radians): 180 degrees is a full parallel-beam set (360 for
    fan beam); fewer views is sparse-view CT, a smaller range limited-angle CT."""
    return np.arange(views) * np.deg2rad(range_degrees) / views
