#!/usr/bin/python3
"""tools/image_metrics.py against scikit-image: SSIM (11x11 Gaussian window, sigma 1.5) and PSNR of five image
pairs, computed by scikit-image when the fixture was made (tests/tools/make_ssim_fixture.py), to 1e-10."""

import os
import sys

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
import image_metrics  # noqa: E402

errors = []
with h5py.File(os.path.join(here, "fixtures", "ssim_skimage.h5"), "r") as f:
    for name, g in f.items():
        ref, x = g["ref"][...], g["x"][...]
        s = image_metrics.ssim(x, ref, 2.0)
        p = image_metrics.psnr(x, ref, 2.0)
        print(f"{name}: ssim {s:.12f} (scikit-image {g.attrs['ssim']:.12f}), psnr {p:.9f} ({g.attrs['psnr']:.9f})")
        if abs(s - g.attrs["ssim"]) > 1e-10 or abs(p - g.attrs["psnr"]) > 1e-9:
            errors.append(name)
        # symmetric in its arguments, 1 for an image against itself, a channel stack averages its channels
        if abs(image_metrics.ssim(ref, x, 2.0) - s) > 1e-12 or image_metrics.ssim(ref, ref, 2.0) != 1.0:
            errors.append(name + " (symmetry / identity)")
        if abs(image_metrics.ssim(np.stack([x, ref]), np.stack([ref, ref]), 2.0) - (s + 1) / 2) > 1e-12:
            errors.append(name + " (channels)")
if errors:
    sys.exit("FAIL: image_metrics: " + ", ".join(errors))
print("PASS: image_metrics")
