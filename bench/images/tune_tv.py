#!/usr/bin/python3
"""Chooses the free parameters of the MRI and CT baselines (dpstools.baselines: TV_LAMBDA_MRI, TV_LAMBDA_CT,
FBP_FILTER) on Fashion-MNIST TRAINING images, never on the test images the benchmark reports:

    PYTHONPATH=tools DPSOLVE=build/dpsolve bench/images/tune_tv.py INPUT... [--images 32] [--lams ...]

For each input (a benchmark input made by run.sh: only its operator and sigma_y are used) it draws
y = A x + sigma_y n for training images 0..images-1 (A dense, by dpsolve; n from numpy's generator, seed 0) and
prints the mean PSNR of the TV reconstruction for each lam (and of FBP for each filter on parallel-beam CT), the
objective's change from TV_ITERS to 1000 iterations at the chosen lam (convergence), and the best values."""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import image_metrics  # noqa: E402
from dpstools import baselines, recon, sources  # noqa: E402


def psnr(est, truth, shape):
    return float(np.mean([image_metrics.psnr(np.clip(e, -1, 1).reshape(shape), t.reshape(shape), 2.0)
                          for e, t in zip(est, truth)]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+")
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--lams", default="0.005,0.01,0.02,0.05,0.1,0.2,0.5")
    a = p.parse_args()
    lams = [float(v) for v in a.lams.split(",")]
    x = sources.load_fmnist("train")[:a.images].reshape(a.images, -1).astype(np.float64)
    for path in a.inputs:
        inp = baselines.read_input(path)
        A = baselines.dense_matrix(inp)
        y = x @ A.T + inp["sigma_y"] * np.random.default_rng(0).standard_normal((a.images, A.shape[0]))
        train = dict(inp, x0=x, y=y)
        tv = baselines.tv_solver(train)
        aty = y @ A
        scores = {}
        for lam in lams:
            scores[lam] = psnr(tv.solve(aty, lam, baselines.TV_ITERS), x, inp["shape"])
            print(f"{os.path.basename(path)}: tv lam {lam:g}: {scores[lam]:.2f} dB", flush=True)
        best = max(scores, key=scores.get)
        f = lambda v: recon.tv_objective(lambda r: r @ A.T, y, v, inp["shape"], best)  # noqa: E731
        short, long_ = tv.solve(aty, best, baselines.TV_ITERS), tv.solve(aty, best, 1000)
        change = np.max(np.abs(f(short) - f(long_)) / f(long_))
        print(f"{os.path.basename(path)}: best tv lam {best:g} ({scores[best]:.2f} dB); objective at "
              f"{baselines.TV_ITERS} iterations vs 1000: {change:.1e} relative (max over the images)")
        if inp["op"] == "mri":
            print(f"{os.path.basename(path)}: zero-filled {psnr([baselines.zero_filled_mri(train, v) for v in y], x, inp['shape']):.2f} dB")
        if inp["op"] == "ct" and inp["ct"]["geometry"] == "parallel":
            g, (c, h, w) = inp["ct"], inp["shape"]
            for filt in recon.FBP_FILTERS:
                est = [recon.fbp_parallel(v.reshape(len(g["angles"]), -1), g["angles"], g["det_spacing"], h, w, filt)
                       for v in y]
                print(f"{os.path.basename(path)}: fbp {filt}: {psnr(est, x, inp['shape']):.2f} dB", flush=True)


if __name__ == "__main__":
    main()
