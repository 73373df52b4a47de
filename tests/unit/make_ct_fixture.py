#!/usr/bin/python3
# Run from the repository root with ASTRA (PyPI astra-toolbox; its CPU projectors, no GPU needed), e.g.
#   python3 -m venv --system-site-packages /tmp/astra && /tmp/astra/bin/pip install astra-toolbox
#   /tmp/astra/bin/python tests/unit/make_ct_fixture.py
# writes tests/unit/fixtures/ct_astra.h5: images and their sinograms by ASTRA's CPU projectors, with the geometry
# in dpsolve's ct form (attributes geometry, det_count, det_spacing, source_distance, detector_distance; dataset
# angles). Parallel beam: ASTRA's "linear" projector, Joseph's method, the model of dpsolve's ct; fan beam: ASTRA
# has no CPU Joseph projector for fanflat, so its "line_fanflat" (ray-pixel intersection lengths), a different
# discretisation of the same line integrals, on a smooth image. Made once here; unit_operator_medical reads it.
import astra, h5py, numpy as np

rng = np.random.default_rng(21)


def smooth(H, W):
    r, c = np.meshgrid(np.arange(H) - H / 2 + 0.5, np.arange(W) - W / 2 + 0.5, indexing="ij")
    return np.exp(-((r - 3) ** 2 + (c + 2) ** 2) / (2 * (H / 5) ** 2)) + 0.5 * np.exp(-((r + H / 5) ** 2 + (c - W / 6) ** 2) / (2 * (H / 8) ** 2))


cases = [  # name, kind, image, angles, det_count, det_spacing, source, detector
    ("parallel_random", "linear", rng.standard_normal((16, 12)), np.sort(rng.uniform(0, np.pi, 9)), 23, 0.85, 0, 0),
    ("parallel_exact_angles", "linear", rng.standard_normal((10, 10)), np.arange(8) * np.pi / 4, 15, 1.0, 0, 0),
    ("fan_smooth", "line_fanflat", smooth(64, 64), np.linspace(0, 2 * np.pi, 24, endpoint=False), 128, 1.5, 150.0, 100.0),
]
with h5py.File("tests/unit/fixtures/ct_astra.h5", "w") as f:
    f.attrs["made_by"] = np.bytes_(f"astra-toolbox {astra.__version__}, CPU projectors (create_sino)")
    for name, kind, x, angles, D, ds, S, E in cases:
        H, W = x.shape
        vg = astra.create_vol_geom(H, W)
        if kind == "linear":
            pg = astra.create_proj_geom("parallel", ds, D, angles)
        else:
            pg = astra.create_proj_geom("fanflat", ds, D, angles, S, E)
        pid = astra.create_projector(kind, pg, vg)
        sid, y = astra.create_sino(x, pid)
        astra.data2d.delete(sid)
        astra.projector.delete(pid)
        g = f.create_group(name)
        g["x"] = x[None]
        g["y"] = y
        g.attrs["astra_projector"] = np.bytes_(kind)
        op = g.create_group("operator")
        op.attrs["type"] = np.bytes_("ct")
        op.attrs["geometry"] = np.bytes_("parallel" if kind == "linear" else "fan")
        op.attrs["det_count"] = np.int64(D)
        op.attrs["det_spacing"] = np.float64(ds)
        if kind != "linear":
            op.attrs["source_distance"] = np.float64(S)
            op.attrs["detector_distance"] = np.float64(E)
        op["angles"] = angles
        print(name, kind, x.shape, y.shape)
