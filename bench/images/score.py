#!/usr/bin/python3
"""Per-image rows of the image benchmark (bench/images/run.sh) for one dpsolve run or for the classical baselines.

    score.py run INPUT OUTPUT LOG METHOD TASK STATUS STEPS DRAWS   (STATUS: the exit status of dpsolve run)
    score.py baselines INPUT TASK

Writes CSV rows (no header; FIELDS below) to stdout. Metrics (tools/image_metrics.py, data range 2 for [-1, 1]):
PSNR and SSIM of the posterior mean and the average over single draws, both clipped to [-1, 1] as images are;
data consistency: the RMS of `A x - y` over the measured entries divided by sigma_y, of the raw (unclipped)
estimate (a sampler that leaves the range shows here); max_abs: the largest |value| of any draw. A run that
failed gives one row per image with status `failed`, its exit status and its error message; a run that wrote
non-finite values, or values more than 100 data ranges away from the range, is `out-of-range`. Cost per draw:
the output's score_evaluations, score_vjps and cg_iterations divided by inputs x samples; seconds per image: the
run's sampling-loop time (its `draws in T s` line) divided by the inputs.
"""

import csv
import os
import re
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import image_metrics  # noqa: E402
from dpstools import cop, kernels  # noqa: E402

RANGE = (-1.0, 1.0)
DATA_RANGE = RANGE[1] - RANGE[0]
FIELDS = ["method", "task", "image", "status", "exit_status", "message", "steps", "draws", "psnr_mean", "ssim_mean",
          "psnr_draw", "ssim_draw", "dc_mean", "dc_draw", "max_abs", "nfe_per_draw", "vjp_per_draw",
          "cg_per_draw", "seconds_per_image"]


def text(attr):
    return attr.decode() if isinstance(attr, bytes) else str(attr)


def read_input(path):
    """The truth, the measurement, the operator and the image indices of an input file. apply: A of rows [n, d]
    (blur and sr by dpsolve itself, $DPSOLVE or build/dpsolve: the C operator is the only definition of A)."""
    with h5py.File(path, "r") as f:
        x0, y = f["x0"][...], f["y"][...]
        g = f["operator"]
        op = text(g.attrs["type"])
        shape = tuple(int(v) for v in f.attrs["data_shape"])
        mask = kernel = None
        factor = 1
        if op == "inpaint":
            if "mask" in g:
                mask = g["mask"][...]
            else:  # the box form: one mask shared by the channels
                r0, c0, bh, bw = (int(v) for v in g.attrs["box"])
                mask = np.ones(shape[1:])
                mask[r0:r0 + bh, c0:c0 + bw] = 0
            mask = np.broadcast_to(mask.reshape(-1, *shape[1:]), shape).reshape(-1)
            apply = (lambda x: x * mask)
            measured = mask != 0
        elif op == "cs":
            mat = g["matrix"][...]
            apply = (lambda x: x @ mat.T)
            measured = np.ones(mat.shape[0], dtype=bool)
        elif op in ("blur", "sr"):
            apply = (lambda x: cop.apply(cop.default_dpsolve(), path, np.atleast_2d(x)).reshape(np.shape(x)[:-1] + (-1,)))
            measured = np.ones(y.shape[1], dtype=bool)
            if op == "blur":
                kernel = g["kernel"][...] if "kernel" in g else kernels.gaussian()
            else:
                factor = int(g.attrs["factor"])
        else:
            raise SystemExit(f"{path}: operator type {op!r}: score.py knows inpaint, cs, blur and sr (add its A here)")
        first = int(f.attrs.get("first_image", 0))
        sigma_y = float(f.attrs["sigma_y"])
    return dict(x0=x0, y=y, op=op, apply=apply, measured=measured, shape=shape, sigma_y=sigma_y,
                images=list(range(first, first + len(x0))), mask=mask, kernel=kernel, factor=factor)


def consistency(inp, x, ax=None):
    """RMS over the measured entries of A x - y, in units of sigma_y (x: [N, d] or [d] rows; ax: A x if known)."""
    r = (inp["apply"](x) if ax is None else ax) - inp["y"]
    return float(np.sqrt(np.mean(r[..., inp["measured"]] ** 2)) / inp["sigma_y"])


def quality(est, truth, shape):
    e = np.clip(est, *RANGE).reshape(shape)
    t = truth.reshape(shape)
    return image_metrics.psnr(e, t, DATA_RANGE), image_metrics.ssim(e, t, DATA_RANGE)


def fmt(v):
    return "" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def error_message(log):
    """The first line of the log that says what went wrong (dpsolve prints `dpsolve error ...: why`)."""
    try:
        lines = open(log, errors="replace").read().splitlines()
    except OSError:
        return "no log"
    for pat in (r"dpsolve error", r"error", r"signal|Killed|abort"):
        for ln in lines:
            if re.search(pat, ln, re.I):
                return ln.strip()[:300]
    return (lines[-1].strip()[:300] if lines else "empty log")


def score_run(inp_path, out_path, log, method, task, status, steps, draws):
    inp = read_input(inp_path)
    n = len(inp["x0"])
    base = dict(method=method, task=task, exit_status=status, steps=steps, draws=draws)
    ok = status == 0
    try:
        f = h5py.File(out_path, "r") if ok else None
    except OSError as e:
        ok, base["exit_status"], message = False, status, f"exit 0 but the output cannot be read: {e}"
    if ok and int(f.attrs.get("complete", 0)) != 1:
        ok, message = False, "exit 0 but the output is not marked complete"
    if not ok:
        message = message if status == 0 else error_message(log)
        for i in range(n):
            yield dict(base, image=inp["images"][i], status="failed", message=message)
        return
    with f:
        a = f.attrs
        samples = f["samples"][...]
        steps, draws = int(a["steps"]), int(a["samples"])
        per_draw = float(n * draws)
        cost = dict(nfe_per_draw=a["score_evaluations"] / per_draw, vjp_per_draw=a["score_vjps"] / per_draw,
                    cg_per_draw=a["cg_iterations"] / per_draw)
    m = re.search(r"draws in ([0-9.]+) s", open(log, errors="replace").read())
    secs = float(m.group(1)) / n if m else None
    # A of every posterior mean and draw at once (one dpsolve call for blur and sr)
    clean = np.nan_to_num(samples, nan=0.0, posinf=RANGE[1], neginf=RANGE[0])
    rows = np.concatenate([clean.mean(axis=1), clean.reshape(-1, clean.shape[-1])])
    a_rows = inp["apply"](rows)
    a_mean, a_draws = a_rows[:n], a_rows[n:].reshape(n, clean.shape[1], -1)
    for i in range(n):
        d = samples[i]
        finite = bool(np.isfinite(d).all())
        max_abs = float(np.max(np.abs(d))) if finite else float("inf")
        wild = (not finite) or max_abs > RANGE[1] + 100 * DATA_RANGE
        d = np.nan_to_num(d, nan=0.0, posinf=RANGE[1], neginf=RANGE[0])
        mean = d.mean(axis=0)
        pm, sm = quality(mean, inp["x0"][i], inp["shape"])
        per = [quality(x, inp["x0"][i], inp["shape"]) for x in d]
        row = dict(base, image=inp["images"][i], status="out-of-range" if wild else "ok",
                   message=("non-finite values" if not finite else f"max |x| = {max_abs:.3g}") if wild else "",
                   steps=steps, draws=draws, psnr_mean=pm, ssim_mean=sm,
                   psnr_draw=float(np.mean([p for p, _ in per])), ssim_draw=float(np.mean([s for _, s in per])),
                   dc_mean=consistency(_one(inp, i), mean, a_mean[i]),
                   dc_draw=float(np.mean([consistency(_one(inp, i), x, ax) for x, ax in zip(d, a_draws[i])])),
                   max_abs=max_abs, seconds_per_image=secs, **cost)
        yield row


def _one(inp, i):
    """The input restricted to image i (for the consistency of one estimate)."""
    return dict(inp, y=inp["y"][i])


# ---- classical, non-learned baselines ------------------------------------------------------------------------

def tv_inpaint(y, mask, lam, iters=300):
    """Total-variation inpainting: argmin_x TV(x) + lam/2 sum_observed (x - y)^2, isotropic TV, by the
    Chambolle-Pock primal-dual algorithm (J. Math. Imaging Vis. 40, 2011, algorithm 1, theta = 1;
    tau = sigma = 1/sqrt(8) since ||grad||^2 <= 8). No Debian-packaged Python library offers TV inpainting
    (scikit-image's denoise_tv_chambolle has no mask), hence these few lines. y, mask: (H, W)."""
    def grad(u):
        gx, gy = np.zeros_like(u), np.zeros_like(u)
        gx[:-1] = u[1:] - u[:-1]
        gy[:, :-1] = u[:, 1:] - u[:, :-1]
        return gx, gy

    def div(px, py):  # -grad^T
        dx, dy = np.zeros_like(px), np.zeros_like(py)
        dx[0], dx[1:-1], dx[-1] = px[0], px[1:-1] - px[:-2], -px[-2]
        dy[:, 0], dy[:, 1:-1], dy[:, -1] = py[:, 0], py[:, 1:-1] - py[:, :-2], -py[:, -2]
        return dx + dy

    tau = sigma = 1 / np.sqrt(8)
    x = np.where(mask > 0, y, y[mask > 0].mean())
    xbar, px, py = x.copy(), np.zeros_like(x), np.zeros_like(x)
    for _ in range(iters):
        gx, gy = grad(xbar)
        px, py = px + sigma * gx, py + sigma * gy
        norm = np.maximum(1.0, np.sqrt(px * px + py * py))
        px, py = px / norm, py / norm
        xold = x
        v = x + tau * div(px, py)
        x = (v + tau * lam * mask * y) / (1 + tau * lam * mask)
        xbar = 2 * x - xold
    return x


# lam of the TV baseline: the best mean PSNR on Fashion-MNIST TRAINING images 0..31 under both masks at sigma_y
# 0.05 over lam in {5, 10, 20, 40, 80, 160} (bench/images/README.md); the test images never chose it.
TV_LAMBDA = 80.0


def baselines_inpaint(inp, i):
    """(name, function computing the estimate [C, H, W]) of the inpainting baselines for image i, per channel."""
    from skimage.restoration import inpaint_biharmonic
    c, h, w = inp["shape"]
    y, mask = inp["y"][i].reshape(c, h, w), inp["mask"].reshape(c, h, w)
    return [("zero-filled", lambda: y * mask),
            ("biharmonic", lambda: np.stack([inpaint_biharmonic(y[k], mask[k] == 0) for k in range(c)])),
            ("tv", lambda: np.stack([tv_inpaint(y[k], mask[k], TV_LAMBDA) for k in range(c)]))]


# balance of the Wiener baseline (scikit-image's wiener, Laplacian regulariser): the best mean PSNR on Fashion-MNIST
# TRAINING images 0..31 over {1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1} for the benchmark's Gaussian (7x7, sigma 1) and
# motion (7x7, intensity 0.5, seed 0) blurs at sigma_y 0.05, 3e-3 for both (22.54 and 25.75 dB; bench/images/README.md);
# the test images never chose it.
WIENER_BALANCE = 3e-3


def baselines_blur(inp, i):
    """Deconvolution baselines for image i: the blurred measurement itself, scikit-image's Wiener-Hunt filter
    (balance WIENER_BALANCE) and its unsupervised form (the balance estimated by a Gibbs sampler, seed 0). Both
    assume a periodic image and a convolution: our A correlates with the kernel, i.e. convolves with its flip."""
    from skimage.restoration import unsupervised_wiener, wiener
    c, h, w = inp["shape"]
    y = inp["y"][i].reshape(c, h, w)
    psf = inp["kernel"][::-1, ::-1]
    return [("blurred", lambda: y),
            ("wiener", lambda: np.stack([wiener(y[k], psf, WIENER_BALANCE, clip=False) for k in range(c)])),
            ("wiener-unsupervised", lambda: np.stack([unsupervised_wiener(y[k], psf, clip=False, random_state=0)[0]
                                                      for k in range(c)]))]


def baselines_sr(inp, i):
    """Upsampling baselines for image i: scikit-image's bicubic (order 3) and nearest-neighbour resize of y."""
    from skimage.transform import resize
    c, h, w = inp["shape"]
    f = inp["factor"]
    y = inp["y"][i].reshape(c, h // f, w // f)
    return [("bicubic", lambda: resize(y, (c, h, w), order=3, mode="symmetric", anti_aliasing=False)),
            ("nearest", lambda: resize(y, (c, h, w), order=0, mode="symmetric", anti_aliasing=False))]


BASELINES = {"inpaint": baselines_inpaint, "blur": baselines_blur, "sr": baselines_sr}


def score_baselines(inp_path, task):
    inp = read_input(inp_path)
    if inp["op"] not in BASELINES:
        raise SystemExit(f"{inp_path}: no classical baselines for operator {inp['op']!r} yet")
    rows, ests = [], []
    for i in range(len(inp["x0"])):
        for name, method in BASELINES[inp["op"]](inp, i):
            t0 = time.perf_counter()
            est = method().reshape(-1)
            per = time.perf_counter() - t0
            pm, sm = quality(est, inp["x0"][i], inp["shape"])
            rows.append(dict(method=name, task=task, image=inp["images"][i], status="ok", exit_status=0, message="",
                             draws=1, psnr_mean=pm, ssim_mean=sm, max_abs=float(np.max(np.abs(est))),
                             nfe_per_draw=0.0, vjp_per_draw=0.0, cg_per_draw=0.0, seconds_per_image=per))
            ests.append((i, est))
    a_est = inp["apply"](np.stack([e for _, e in ests]))  # one call for all of them
    for r, (i, _), ae in zip(rows, ests, a_est):
        r["dc_mean"] = consistency(_one(inp, i), None, ae)
        yield r


def main(argv):
    if len(argv) == 9 and argv[0] == "run":
        rows = score_run(*argv[1:6], int(argv[6]), int(argv[7]), int(argv[8]))
    elif len(argv) == 3 and argv[0] == "baselines":
        rows = score_baselines(argv[1], argv[2])
    else:
        raise SystemExit(__doc__)
    w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
    for r in rows:
        w.writerow({k: fmt(r.get(k)) for k in FIELDS})


if __name__ == "__main__":
    main(sys.argv[1:])
