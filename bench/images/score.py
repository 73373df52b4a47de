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
from dpstools.baselines import BASELINES, read_input  # noqa: E402,F401 (report.py uses both through this module)

RANGE = (-1.0, 1.0)
DATA_RANGE = RANGE[1] - RANGE[0]
FIELDS = ["method", "task", "image", "status", "exit_status", "message", "steps", "draws", "psnr_mean", "ssim_mean",
          "psnr_draw", "ssim_draw", "dc_mean", "dc_draw", "max_abs", "nfe_per_draw", "vjp_per_draw",
          "cg_per_draw", "seconds_per_image"]


def text(attr):
    return attr.decode() if isinstance(attr, bytes) else str(attr)


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
