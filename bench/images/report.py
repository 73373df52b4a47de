#!/usr/bin/python3
"""Summarise the image benchmark (bench/images/run.sh): joins the per-run rows of RUNS into OUT/results.csv and
writes OUT/table.md (per task and method: mean ± 95% Student-t interval over the images; the best PSNR and SSIM
of the estimate in bold; the winner of each task in words), OUT/psnr-ssim.png (bars with the intervals) and
OUT/grid-<task>.png (truth, measurement and every method's estimate for the first images).

    report.py RUNS OUT
"""

import collections
import csv
import glob
import math
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score  # noqa: E402

# the order of the table: the samplers of run.sh, then the baselines, then anything else
ORDER = ["cdps", "cdps-independent", "dps", "pigdm", "cadps", "cadps-released", "ddrm-20", "ddrm-100", "ddpm",
         "biharmonic", "tv", "zero-filled", "wiener", "wiener-unsupervised", "blurred", "bicubic", "nearest", "fbp"]
BASELINES = {"biharmonic", "tv", "zero-filled", "wiener", "wiener-unsupervised", "blurred", "bicubic", "nearest",
             "fbp"}
TASKS = ["random", "box", "gaussian", "motion", "sr4", "mri4", "mri4-coils", "ct30", "ct-limited"]  # run.sh's order


def mean_ci(v):
    v = [x for x in v if x == x]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan")
    from scipy.stats import t  # python3-scipy comes with python3-skimage
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, t.ppf(0.975, len(v) - 1) * s / math.sqrt(len(v))


def num(r, k):
    return float(r[k]) if r.get(k, "") != "" else float("nan")


def load(runs):
    rows = []
    for path in sorted(glob.glob(os.path.join(runs, "*.csv"))):
        rows += list(csv.DictReader(open(path), fieldnames=score.FIELDS))
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]
    tasks += sorted({r["task"] for r in rows} - set(tasks))
    methods = [m for m in ORDER if any(r["method"] == m for r in rows)]
    methods += sorted({r["method"] for r in rows} - set(methods))
    by = collections.defaultdict(list)
    for r in rows:
        by[(r["task"], r["method"])].append(r)
    return rows, tasks, methods, by


def summary(rs):
    """Per-metric (mean, ci) over the images, with the status of the method on the task."""
    failed = [r for r in rs if r["status"] == "failed"]
    wild = [r for r in rs if r["status"] == "out-of-range"]
    out = {k: mean_ci([num(r, k) for r in rs if r["status"] != "failed"])
           for k in ("psnr_mean", "ssim_mean", "psnr_draw", "ssim_draw", "dc_mean", "dc_draw", "nfe_per_draw",
                     "vjp_per_draw", "cg_per_draw", "seconds_per_image")}
    if failed:
        out["status"] = f"failed (exit {failed[0]['exit_status']}: {failed[0]['message']})"
    elif wild:
        big = max(num(r, "max_abs") for r in wild)
        out["status"] = f"out of range on {len(wild)} of {len(rs)} images (max abs {big:.3g})"
    else:
        out["status"] = "ok"
    out["images"] = len(rs)
    out["steps"] = rs[0]["steps"]
    out["draws"] = rs[0]["draws"]
    out["ok"] = not failed and not wild
    return out


def cell(mc, digits, bold=False):
    m, c = mc
    if m != m:
        return "–"
    f = (lambda v: f"{v:.2g}") if abs(m) >= 1e4 else (lambda v: f"{v:.{digits}f}")  # a diverged sampler's DC
    s = f(m) + ("" if c != c else f" ± {f(c)}")
    return f"**{s}**" if bold else s


def secs(v):
    return "–" if v != v else f"{v:.2f}" if v >= 0.1 else f"{v:.2g}"


def table(tasks, methods, by, runs):
    lines = [f"Image benchmark ({os.path.basename(runs)}): mean ± 95% interval (Student t) over the images.",
             "PSNR (dB, range [-1, 1]) and SSIM of the posterior mean (`mean`) and the average over single draws "
             "(`draw`); for the baselines, of their one estimate. DC: RMS of `A x - y` over the measured pixels "
             "divided by sigma_y (of the unclipped estimate). Cost per draw: model evaluations, VJPs, CG "
             "iterations; seconds per image: the sampling loop (all draws) on one core, runs side by side.", ""]
    wins = []
    for task in tasks:
        ms = [m for m in methods if (task, m) in by]
        S = {m: summary(by[(task, m)]) for m in ms}
        okm = [m for m in ms if S[m]["ok"]]
        best = {k: max(okm, key=lambda m: S[m][k][0]) for k in ("psnr_mean", "ssim_mean")} if okm else {}
        lines += [f"### {task}", "",
                  "| method | steps | PSNR mean | SSIM mean | PSNR draw | SSIM draw | DC mean | DC draw | NFE | VJP | "
                  "CG | s / image | status |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for m in ms:
            s = S[m]
            lines.append(
                f"| {m} | {s['steps'] or '–'} | {cell(s['psnr_mean'], 2, best.get('psnr_mean') == m)} | "
                f"{cell(s['ssim_mean'], 3, best.get('ssim_mean') == m)} | {cell(s['psnr_draw'], 2)} | "
                f"{cell(s['ssim_draw'], 3)} | {cell(s['dc_mean'], 2)} | {cell(s['dc_draw'], 2)} | "
                f"{cell((s['nfe_per_draw'][0], float('nan')), 0)} | {cell((s['vjp_per_draw'][0], float('nan')), 0)} | "
                f"{cell((s['cg_per_draw'][0], float('nan')), 0)} | {secs(s['seconds_per_image'][0])} | "
                f"{s['status']} |")
        lines.append("")
        if okm:
            for k, what in (("psnr_mean", "PSNR"), ("ssim_mean", "SSIM")):
                b = best[k]
                lo = S[b][k][0] - S[b][k][1]
                tied = [m for m in okm if m != b and S[m][k][0] + S[m][k][1] >= lo]
                cb = [m for m in okm if m in BASELINES]
                bb = max(cb, key=lambda m: S[m][k][0]) if cb else None
                wins.append(f"- {task}, {what}: **{b}** ({S[b][k][0]:.{2 if k == 'psnr_mean' else 3}f})"
                            + (f"; intervals overlapping it: {', '.join(tied)}" if tied else "; no other interval overlaps it")
                            + (f"; best classical baseline: {bb} ({S[bb][k][0]:.{2 if k == 'psnr_mean' else 3}f})" if bb else ""))
    return lines + ["Winners (best mean of the estimate among the methods that ran cleanly):", ""] + wins + [""]


def plot(tasks, methods, by, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / max(len(tasks), 1)
    for ax, k, label in ((axes[0], "psnr_mean", "PSNR (dB) of the estimate"), (axes[1], "ssim_mean", "SSIM of the estimate")):
        for j, task in enumerate(tasks):
            ms = [m for m in methods if (task, m) in by]
            vals = [summary(by[(task, m)]) for m in ms]
            mus = [v[k][0] if v["ok"] else 0 for v in vals]
            cis = [0 if v[k][1] != v[k][1] or not v["ok"] else v[k][1] for v in vals]
            xs = [methods.index(m) + j * width for m in ms]
            ax.bar(xs, mus, width, yerr=cis, label=task)
            for x, v in zip(xs, vals):
                if not v["ok"]:
                    ax.text(x, 0.5 if k == "psnr_mean" else 0.02, "failed" if "failed" in v["status"] else "range",
                            rotation=90, fontsize=7, ha="center", va="bottom")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(methods))])
        ax.set_xticklabels(methods, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def grid(runs, task, methods, path, images=4, zoom=3):
    """Truth, measurement and each method's estimate (posterior mean; the baselines recomputed) for the first
    images of the task."""
    from PIL import Image, ImageDraw
    outs = {m: os.path.join(runs, f"{task}-{m}.h5") for m in methods if m not in BASELINES}
    outs = {m: p for m, p in outs.items() if os.path.exists(p)}
    inputs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(runs)), "inputs", f"{task}-*.h5"))
    first_n = os.path.basename(runs).split("-s")[0]  # first<F>-n<N>
    inp_path = [p for p in inputs if first_n in p]
    if not inp_path:
        return False
    inp = score.read_input(inp_path[0])
    nc, h, w = inp["shape"]
    k = min(images, len(inp["x0"]))
    f = inp["factor"]  # super-resolution: y shown magnified to the image's size
    cols = [("truth", inp["x0"][:k])]
    if inp["op"] not in ("mri", "ct"):  # k-space and sinograms are not images: their baselines' columns show them
        ys = np.stack([np.kron(inp["y"][i].reshape(nc, h // f, w // f)[0], np.ones((f, f))).reshape(-1)
                       for i in range(k)])
        cols.append(("measured", ys))
    for m, p in outs.items():
        with h5py.File(p, "r") as f:
            if int(f.attrs.get("complete", 0)) == 1:
                cols.append((m, f["samples"][:k].mean(axis=1)))
    if inp["op"] in score.BASELINES:
        est = collections.defaultdict(list)
        for i in range(k):
            for name, method in score.BASELINES[inp["op"]](inp, i):
                est[name].append(method().reshape(-1))
        cols += [(name, np.stack(v)) for name, v in est.items() if name in methods]
    pad, lab = 2, 12
    W, H = w * zoom, h * zoom
    img = Image.new("RGB", (len(cols) * (W + pad) + pad, lab + k * (H + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for c, (name, est) in enumerate(cols):
        draw.text((pad + c * (W + pad), 0), name[:16], fill=(0, 0, 0))
        for i in range(k):
            v = np.nan_to_num(np.clip((est[i].reshape(nc, h, w)[0] + 1) / 2, 0, 1))  # the first channel
            tile = Image.fromarray((255 * v + 0.5).astype(np.uint8)).resize((W, H), Image.NEAREST).convert("RGB")
            if name == "measured" and inp["mask"] is not None:
                a = np.array(tile)
                miss = np.kron(inp["mask"].reshape(nc, h, w)[0] == 0, np.ones((zoom, zoom), dtype=bool))
                a[miss] = (200, 30, 30)
                tile = Image.fromarray(a)
            img.paste(tile, (pad + c * (W + pad), lab + pad + i * (H + pad)))
    img.save(path)
    return True


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    runs, out = argv
    rows, tasks, methods, by = load(runs)
    if not rows:
        raise SystemExit(f"{runs}: no results")
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=score.FIELDS)
        w.writeheader()
        w.writerows(rows)
    open(os.path.join(out, "table.md"), "w").write("\n".join(table(tasks, methods, by, runs)))
    plot(tasks, methods, by, os.path.join(out, "psnr-ssim.png"))
    for task in tasks:
        grid(runs, task, methods, os.path.join(out, f"grid-{task}.png"))


if __name__ == "__main__":
    main(sys.argv[1:])
