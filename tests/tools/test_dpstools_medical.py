#!/usr/bin/python3
"""dpstools.medical's masks, coil maps and BART reader, and dpstools.writer's CSR writer, against their definitions
(methods.md section 8) and independent truth:
- random lines: fastMRI's expected count W / R (the centre columns plus Bernoulli columns), measured over 400 draws
  within 4 standard errors; the centre columns always sampled; each column all 0 or all 1;
- equispaced lines: the centre columns and one column in every round(q) outside it; the count near W / R;
- variable density: the expected count H W / R of its probabilities (mean over 400 draws within 4 standard
  errors), the centre disc always sampled;
- coil maps: sum_c |S_c|^2 = 1 at every pixel, and smooth (neighbouring pixels differ by less than 0.1);
- read_cfl: a BART pair written here byte by byte (complex64, column-major, header "# Dimensions") reads back;
- writer.matrix: the stored CSR rebuilds scipy's matrix exactly."""

import os
import sys
import tempfile

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
from dpstools import medical, writer  # noqa: E402

errors = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)


rng = np.random.default_rng(3)
H, W = 16, 320
for R, f in ((4, 0.08), (8, 0.04)):
    n, centre = medical.centre_columns(W, f)
    counts = []
    for _ in range(400):
        m = medical.mask_random_lines(H, W, R, f, rng)
        counts.append(m[0].sum())
        if not (np.all(m == m[0]) and np.all(m[:, centre] == 1)):
            check(False, f"random lines {R}x: a column is not all 0 or 1, or the centre is not sampled")
            break
    p = (W / R - n) / (W - n)
    se = np.sqrt((W - n) * p * (1 - p) / 400)
    check(abs(np.mean(counts) - W / R) < 4 * se,
          f"random lines {R}x, centre {f}: mean count {np.mean(counts):.2f}, fastMRI's expectation {W / R:.2f} (se {se:.2f})")
    m = medical.mask_equispaced_lines(H, W, R, f, rng)
    cols = np.flatnonzero(m[0])
    outside = np.setdiff1d(cols, centre)
    # spacing on each side of the centre (the centre columns interrupt it)
    gaps = np.concatenate([np.diff(outside[outside < centre[0]]), np.diff(outside[outside > centre[-1]])])
    q = R * (n - W) / (n * R - W)
    check(np.all(m[:, centre] == 1) and abs(len(cols) - W / R) <= 2 and set(gaps) <= {int(np.floor(q)), int(np.ceil(q))},
          f"equispaced {R}x: {len(cols)} columns (W / R = {W / R:.1f}), spacing {sorted(set(gaps))[:3]} around q = {q:.3f}")

Hv, Wv, R, f = 32, 24, 4, 0.1
i, j = np.meshgrid(np.arange(Hv) - Hv // 2, np.arange(Wv) - Wv // 2, indexing="ij")
rho = np.hypot(i / (Hv / 2), j / (Wv / 2))
rho /= rho.max()
counts = [medical.mask_variable_density(Hv, Wv, R, f, rng) for _ in range(400)]
check(all(np.all(c[rho <= f] == 1) for c in counts), "variable density: the centre disc always sampled")
tot = np.array([c.sum() for c in counts])
se = np.sqrt(Hv * Wv / R) / np.sqrt(400)  # Bernoulli variance is below the mean
check(abs(tot.mean() - Hv * Wv / R) < 4 * se, f"variable density: mean count {tot.mean():.2f}, target {Hv * Wv / R:.1f} (se < {se:.2f})")

S = medical.coil_maps(8, 32, 32)
check(np.max(np.abs((np.abs(S) ** 2).sum(0) - 1)) < 1e-12, "coil maps: sum_c |S_c|^2 = 1")
check(max(np.max(np.abs(np.diff(S, axis=1))), np.max(np.abs(np.diff(S, axis=2)))) < 0.1, "coil maps: smooth")

with tempfile.TemporaryDirectory() as d:
    X, Y, coils = 5, 3, 2
    arr = (np.arange(X * Y * coils) + 1j * np.arange(X * Y * coils)[::-1]).astype(np.complex64)
    # column-major [X, Y, 1, coils, 1]: the first index runs fastest
    with open(os.path.join(d, "maps.hdr"), "w") as h:
        h.write(f"# Dimensions\n{X} {Y} 1 {coils} 1\n")
    arr.tofile(os.path.join(d, "maps.cfl"))
    maps = medical.maps_from_bart(os.path.join(d, "maps"))
    want = np.empty((coils, X, Y), dtype=np.complex128)
    for c in range(coils):
        for x in range(X):
            for y in range(Y):
                want[c, x, y] = arr[x + X * (y + Y * c)]
    check(maps.shape == want.shape and np.array_equal(maps, want), "read_cfl: BART's column-major layout")

    import scipy.sparse
    A = scipy.sparse.random(9, 13, density=0.3, random_state=1, format="csr")
    with h5py.File(os.path.join(d, "m.h5"), "w") as f:
        writer.matrix(f.create_group("operator"), A)
    with h5py.File(os.path.join(d, "m.h5"), "r") as f:
        g = f["operator"]
        B = scipy.sparse.csr_matrix((g["data"][...], g["indices"][...], g["indptr"][...]), shape=tuple(g.attrs["shape"]))
        check(g.attrs["type"] == b"matrix" and g["indices"].dtype == np.int64 and (A != B).nnz == 0, "writer.matrix: CSR round trip")
if errors:
    sys.exit("FAIL: dpstools.medical: " + "; ".join(errors))
print("all checks passed")
