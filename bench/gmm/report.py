#!/usr/bin/env python3
"""Summarise bench/gmm results: a Markdown table of SW means with 95% intervals per (d_x, d_y) and method, with
the floor, prior samples, cost per sample (model evaluations, VJPs, CG iterations) and seconds per sample, and a
PNG plot of SW per method and dimension.  usage: report.py results.csv table.md sw.png"""
import csv, math, sys, collections

# one row per (cell, problem, method): a resumed benchmark may have written a run twice; the last one counts
unique = {}
for r in csv.DictReader(open(sys.argv[1])):
    unique[(r["dx"], r["dy"], r["problem"], r["method"])] = r
rows = list(unique.values())
# the methods in the order of bench/gmm/run.sh, then any others
known = ["cdps", "cdps-independent", "cdps-smc", "cadps", "cadps-posterior-score", "dps-0.1", "dps-1.0", "pigdm",
         "pigdm-posterior-score", "ddrm", "ddpm"]
order = [m for m in known if any(r["method"] == m for r in rows)]
order += sorted({r["method"] for r in rows} - set(order))
cells = collections.OrderedDict()
for r in sorted(rows, key=lambda r: (int(r["dx"]), int(r["dy"]))):
    cells.setdefault((int(r["dx"]), int(r["dy"])), collections.defaultdict(list))[r["method"]].append(r)

def mean_ci(v):
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1))
    return m, 1.96 * s / math.sqrt(len(v))

lines = ["SW to the exact posterior, mean ± 95% interval over problems (lower is better).", ""]
lines.append("| d_x | d_y | problems | " + " | ".join(order) + " | prior samples | floor |")
lines.append("|---:|---:|---:|" + "---:|" * (len(order) + 2))
for (dx, dy), by in cells.items():
    first = by[order[0]]
    vals = []
    best = min(order, key=lambda m: mean_ci([float(r["sw"]) for r in by[m]])[0])
    for m in order:
        mu, ci = mean_ci([float(r["sw"]) for r in by[m]])
        cell = f"{mu:.2f} ± {ci:.2f}"
        vals.append(f"**{cell}**" if m == best else cell)
    pm, pc = mean_ci([float(r["prior"]) for r in first])
    fm, fc = mean_ci([float(r["floor"]) for r in first])
    lines.append(f"| {dx} | {dy} | {len(first)} | " + " | ".join(vals) + f" | {pm:.2f} ± {pc:.2f} | {fm:.2f} ± {fc:.2f} |")
lines += ["", "Cost per sample (means over all runs): model evaluations (NFE), VJPs, CG iterations, and seconds.", ""]
lines.append("| method | steps | NFE | VJP | CG iterations | seconds per sample (d_x = 8 / 80 / 800) |")
lines.append("|---|---:|---:|---:|---:|---|")
for m in order:
    rs = [r for r in rows if r["method"] == m]
    secs = []
    for dx in sorted({int(r["dx"]) for r in rs}):
        v = [float(r["seconds_per_sample"]) for r in rs if int(r["dx"]) == dx]
        secs.append(f"{sum(v) / len(v):.2e}")
    avg = lambda k: sum(float(r[k]) for r in rs) / len(rs)
    lines.append(f"| {m} | {rs[0]['steps']} | {avg('nfe_per_sample'):.0f} | {avg('vjp_per_sample'):.0f} | {avg('cg_iterations_per_sample'):.0f} | {' / '.join(secs)} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("report.py: matplotlib is missing (python3-matplotlib): table written, no plot")
dxs = sorted({dx for dx, _ in cells})
fig, axes = plt.subplots(1, len(dxs), figsize=(5 * len(dxs), 4), squeeze=False)
for ax, dx in zip(axes[0], dxs):
    dys = sorted({dy for d, dy in cells if d == dx})
    width = 0.8 / (len(order) + 1)
    for k, m in enumerate(order + ["floor"]):
        mus, cis = [], []
        for dy in dys:
            by = cells[(dx, dy)]
            v = [float(r["floor"]) for r in by[order[0]]] if m == "floor" else [float(r["sw"]) for r in by[m]]
            mu, ci = mean_ci(v)
            mus.append(mu)
            cis.append(ci)
        ax.bar([i + k * width for i in range(len(dys))], mus, width, yerr=cis, label=m)
    ax.set_xticks([i + 0.4 for i in range(len(dys))])
    ax.set_xticklabels([f"d_y = {dy}" for dy in dys])
    ax.set_title(f"d_x = {dx}")
    ax.set_ylabel("sliced Wasserstein-1 to the exact posterior")
axes[0][0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(sys.argv[3], dpi=100)
