#!/usr/bin/python3
"""tools/dpstools/metrics.py: the Frechet distance against an independent computation (pytorch-fid's formula with
scipy.linalg.sqrtm of C1 C2) on synthetic features, full-rank and rank-deficient, and against the closed form for
diagonal covariances; the command line on a small output written here: its PSNR/SSIM equal image_metrics' on the
same arrays, and LPIPS and FID, when their packages are absent, are reported as missing with how to get them.
Usage: test_dpstools_metrics.py SOURCE_DIR"""

import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy import linalg

SRC = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(SRC, "tools"))
import image_metrics  # noqa: E402
from dpstools import metrics  # noqa: E402

errors = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)


def fid_sqrtm(f1, f2):
    """pytorch-fid's calculate_frechet_distance: scipy.linalg.sqrtm of the product of the covariances."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2)).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


rng = np.random.default_rng(0)
for n, k in ((500, 8), (300, 32), (20, 32)):  # the last: n < k, rank-deficient covariances
    mix = rng.standard_normal((k, k))
    f1 = rng.standard_normal((n, k)) @ mix
    f2 = rng.standard_normal((n, k)) @ (mix + 0.3 * rng.standard_normal((k, k))) + 0.5
    ours, ref = metrics.fid_from_features(f1, f2), fid_sqrtm(f1, f2)
    # rounding: the square roots of the (near-)zero eigenvalues of a rank-deficient product amplify it, so the
    # tolerance is relative to the traces (the scale of every term)
    tol = 1e-7 * (np.trace(np.cov(f1, rowvar=False)) + np.trace(np.cov(f2, rowvar=False)))
    check(abs(ours - ref) <= tol, f"n {n}, k {k}: {ours:.10g} against sqrtm's {ref:.10g}")
    check(abs(metrics.fid_from_features(f1, f1)) < tol, f"n {n}, k {k}: FD(f, f) = 0")
    check(abs(metrics.fid_from_features(f2, f1) - ours) < tol, f"n {n}, k {k}: symmetric")
a, b = rng.uniform(0.1, 3, 10), rng.uniform(0.1, 3, 10)
m1, m2 = rng.standard_normal(10), rng.standard_normal(10)
closed = float(((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
ours = metrics.frechet_distance(m1, np.diag(a), m2, np.diag(b))
check(abs(ours - closed) < 1e-12 * closed, f"diagonal covariances: {ours:.12g} = closed form {closed:.12g}")

# the command line on an output made here: 3 images of 1 x 16 x 16, 2 draws
tmp = tempfile.mkdtemp(prefix="test_dpstools_metrics.")
out = os.path.join(tmp, "out.h5")
x0 = rng.uniform(-1, 1, (3, 256))
samples = x0[:, None] + 0.2 * rng.standard_normal((3, 2, 256))
with h5py.File(out, "w") as f:
    f["x0"], f["samples"] = x0, samples
    f.attrs["data_shape"] = np.array([1, 16, 16])
    f.attrs["complete"] = np.int64(1)
env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "tools"))
r = subprocess.run([sys.executable, "-m", "dpstools.metrics", out, "--csv", os.path.join(tmp, "m.csv")],
                   capture_output=True, text=True, env=env)
check(r.returncode == 0, "metrics command" + ("" if r.returncode == 0 else ": " + r.stderr))
print(r.stdout)
clip = np.clip(samples, -1, 1)
mean = clip.mean(1)
psnr = np.mean([image_metrics.psnr(mean[i], x0[i], 2.0) for i in range(3)])
ssim = np.mean([image_metrics.ssim(mean[i].reshape(16, 16), x0[i].reshape(16, 16), 2.0) for i in range(3)])
import csv  # noqa: E402
row = next(csv.DictReader(open(os.path.join(tmp, "m.csv"))))
check(abs(float(row["psnr_mean"]) - psnr) < 1e-9 and abs(float(row["ssim_mean"]) - ssim) < 1e-9,
      f"PSNR {float(row['psnr_mean']):.6f} / SSIM {float(row['ssim_mean']):.6f} of the posterior mean")
for what, mods in (("LPIPS", ("torch", "lpips")), ("FID", ("torch", "pytorch_fid"))):
    have = True
    for m in mods:
        try:
            __import__(m)
        except ImportError:
            have = False
    if not have:
        check(f"{what} not computed" in r.stdout and "pip install" in r.stdout, f"{what}: reported missing, with how")
import shutil  # noqa: E402
shutil.rmtree(tmp)
if errors:
    sys.exit(f"FAIL: dpstools metrics: {len(errors)} check(s) failed")
print("PASS: dpstools metrics")
