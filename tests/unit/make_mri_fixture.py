#!/usr/bin/python3
# Run from the repository root:
#   /usr/bin/python3 tests/unit/make_mri_fixture.py
# writes tests/unit/fixtures/mri_numpy.h5: for each case an image x [C, H, W] (C = 1 real, C = 2 real and imaginary
# parts), a mask of the input tool (tools/dpstools/medical.py) and, for the multi-coil cases, its simulated
# coil maps, and y = numpy's mask * fftshift(fft2(ifftshift(S x), norm="ortho")), kept entries row-major per coil,
# (real, imaginary) pairs, cross-checked here against the centred DFT written out as a sum (frequency
# (a - H // 2, b - W // 2) of pixel (r - H // 2, s - W // 2)). Odd sizes are included: the shifts differ there.
# Made once here; unit_operator_medical needs only the file.
import os, sys
import h5py, numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from dpstools import medical, writer  # noqa: E402

rng = np.random.default_rng(13)


def mri_forward(x, mask, maps=None):
    """numpy's A x: per coil, the kept entries of fftshift(fft2(ifftshift(S_c x), norm="ortho")), row-major,
    as (real, imaginary) pairs"""
    maps = np.ones((1,) + mask.shape) if maps is None else maps
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(maps * x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    kept = k[:, mask == 1]
    return np.stack([kept.real, kept.imag], axis=-1).reshape(-1)


def dft_sum(z):
    H, W = z.shape
    a = np.arange(H) - H // 2
    b = np.arange(W) - W // 2
    Fh = np.exp(-2j * np.pi * np.outer(a, a) / H)  # (frequency, pixel), both centred
    Fw = np.exp(-2j * np.pi * np.outer(b, b) / W)
    return Fh @ z @ Fw.T / np.sqrt(H * W)


cases = [("single_real_random", (1, 8, 10), "random", 0),
         ("single_complex_odd_vd", (2, 7, 9), "variable-density", 0),
         ("single_real_odd_vd", (1, 7, 9), "variable-density", 0),
         ("multi_real_equispaced", (1, 8, 8), "equispaced", 4),
         ("multi_complex_odd_vd", (2, 9, 6), "variable-density", 3),
         ("one_coil_map_complex", (2, 6, 5), "random", 1)]
with h5py.File("tests/unit/fixtures/mri_numpy.h5", "w") as f:
    f.attrs["made_by"] = np.bytes_(f"numpy {np.__version__}: fftshift(fft2(ifftshift(S x), norm='ortho'))[mask == 1]")
    for name, shape, kind, coils in cases:
        C, H, W = shape
        x = rng.standard_normal(shape)
        z = x[0] + 1j * x[1] if C == 2 else x[0]
        mask = medical.MASKS[kind](H, W, 2.5, 0.2, rng)
        maps = medical.coil_maps(coils, H, W) if coils > 1 else None
        if coils == 1:  # one coil with a map that is not 1: exercises S without the S = 1 shortcut
            maps = (rng.uniform(0.5, 1.5, (1, H, W)) * np.exp(1j * rng.uniform(0, 2 * np.pi, (1, H, W))))
        y = mri_forward(z, mask, maps)
        S = np.ones((1, H, W)) if maps is None else maps
        ref = np.concatenate([np.stack([k.real, k.imag], -1).reshape(-1) for k in (dft_sum(Sc * z)[mask == 1] for Sc in S)])
        assert np.max(np.abs(ref - y)) < 1e-12 * np.max(np.abs(y)), name
        g = f.create_group(name)
        g["x"] = x
        g["y"] = y
        writer.mri(g.create_group("operator"), mask, maps)
        print(name, shape, kind, "coils", coils, "sampled", int(mask.sum()), "of", H * W, "m", y.size)
