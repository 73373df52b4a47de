#!/usr/bin/python3
"""Scores the image runs of cli_images_cadps and cli_images_guided: for each "OUT IN MASK" argument, the posterior
mean's PSNR against /x0 (the output's /mean, or the mean of its draws when it has one draw) must beat the
zero-filled measurement's by 5 dB (random) or 0.5 dB (box), and no draw may exceed 10 in absolute value.
    images_score.py TEST_NAME SOURCE_DIR "OUT IN MASK"..."""
import sys

import h5py
import numpy as np

sys.path.insert(0, sys.argv[2] + "/tools")
import image_metrics  # noqa: E402

errors = []
for run in sys.argv[3:]:
    out, inp, mask = run.split()
    with h5py.File(inp, "r") as fi, h5py.File(out, "r") as fo:
        x0, y, m = fi["x0"][...], fi["y"][...], fi["operator/mask"][...]
        samples = fo["samples"][...]  # [inputs, draws, d]
        mean = fo["mean"][...] if "mean" in fo else samples.mean(axis=1)
    big = float(np.max(np.abs(samples))) if np.all(np.isfinite(samples)) else float("inf")
    p, pz = [], []
    for i in range(x0.shape[0]):
        ref = x0[i].reshape(32, 32)
        p.append(image_metrics.psnr(np.clip(mean[i].reshape(32, 32), -1, 1), ref, 2))
        pz.append(image_metrics.psnr(np.clip((y[i] * m).reshape(32, 32), -1, 1), ref, 2))
    margin = 5.0 if mask == "random" else 0.5
    print(f"{out}: max |x| {big:.3g}, PSNR of the mean {np.mean(p):.2f} dB, zero-filled {np.mean(pz):.2f} dB")
    if not big <= 10:
        errors.append(f"{out}: max |x| = {big:.3g} > 10")
    if not np.mean(p) > np.mean(pz) + margin:
        errors.append(f"{out}: PSNR {np.mean(p):.2f} dB is not {margin} dB above the zero-filled {np.mean(pz):.2f} dB")
if errors:
    sys.exit(f"FAIL: {sys.argv[1]}: " + "; ".join(errors))
