"""PSNR/SSIM per task and method, and one image grid, for runs named TASK-METHOD.h5 (the tasks demo,
scripts/demo-tasks.sh):

    PYTHONPATH=tools /usr/bin/python3 -m dpstools.report out/demo-tasks/*-*.h5 --md table.md --png grid.png

For every output of `dpsolve run` (its input from the output's `input` attribute, which must hold /y: make it
with --simulate-y): the PSNR and SSIM (tools/image_metrics.py, data range 2, estimates clipped to [-1, 1]) of the
posterior mean, averaged over the images; beside them the classical baselines of the task's operator
(dpstools.baselines). The grid: per task, the first --images images: truth, measurement (missing pixels red;
super-resolution magnified), each method's posterior mean, and the task's best baseline by mean PSNR.
"""

import argparse
import collections
import os

import h5py
import numpy as np

import image_metrics

from . import baselines

RANGE = (-1.0, 1.0)


def quality(est, truth, shape):
    e = np.clip(np.asarray(est, dtype=np.float64), *RANGE).reshape(shape)
    t = truth.reshape(shape)
    return image_metrics.psnr(e, t, 2.0), image_metrics.ssim(e, t, 2.0)


def load(outputs):
    """{task: dict(input=read_input, methods={method: posterior means [N, d]})} in the order given."""
    tasks = collections.OrderedDict()
    for path in outputs:
        task, method = os.path.basename(path)[:-3].split("-", 1)
        with h5py.File(path, "r") as f:
            if int(f.attrs.get("complete", 0)) != 1:
                raise SystemExit(f"{path}: not a complete output of dpsolve run")
            means = f["samples"][...].mean(axis=1)
            inp = baselines.text(f.attrs["input"])
        if task not in tasks:
            tasks[task] = dict(input=baselines.read_input(inp), methods=collections.OrderedDict())
        tasks[task]["methods"][method] = means
    return tasks


def scores(t):
    """{name: (psnr, ssim, estimates [N, d])} of the methods, then the baselines."""
    inp = t["input"]
    n = len(inp["x0"])
    out = collections.OrderedDict()
    for m, means in t["methods"].items():
        q = [quality(means[i], inp["x0"][i], inp["shape"]) for i in range(n)]
        out[m] = (np.mean([a for a, _ in q]), np.mean([b for _, b in q]), means)
    est = collections.defaultdict(list)
    for i in range(n):
        for name, method in baselines.BASELINES[inp["op"]](inp, i):
            est[name].append(method().reshape(-1))
    for name, e in est.items():
        q = [quality(e[i], inp["x0"][i], inp["shape"]) for i in range(n)]
        out[name] = (np.mean([a for a, _ in q]), np.mean([b for _, b in q]), np.stack(e))
    return out


def tile(img, zoom, miss=None):
    v = np.clip((img + 1) / 2, 0, 1)
    rgb = np.repeat(v[..., None], 3, axis=2) if v.ndim == 2 else v.transpose(1, 2, 0)
    rgb = (255 * rgb + 0.5).astype(np.uint8)
    if miss is not None:
        rgb[miss] = (200, 30, 30)
    return np.kron(rgb, np.ones((zoom, zoom, 1), dtype=np.uint8))


def grid(tasks, all_scores, images, zoom, path):
    from PIL import Image, ImageDraw
    methods = list(next(iter(tasks.values()))["methods"])
    labels = ["truth", "measured"] + methods + ["baseline"]
    rows = []
    for task, t in tasks.items():
        inp, sc = t["input"], all_scores[task]
        c, h, w = inp["shape"]
        shape = (c, h, w) if c == 3 else (h, w)
        base = max((k for k in sc if k not in t["methods"]), key=lambda k: sc[k][0])
        for i in range(min(images, len(inp["x0"]))):
            f = inp["factor"]
            y = inp["y"][i].reshape(c, h // f, w // f)
            y = np.kron(y, np.ones((1, f, f)))
            miss = inp["mask"].reshape(c, h, w)[0] == 0 if inp["mask"] is not None else None
            row = [tile(inp["x0"][i].reshape(shape), zoom), tile(y.reshape(shape), zoom, miss)]
            row += [tile(t["methods"][m][i].reshape(shape), zoom) for m in methods]
            row += [tile(sc[base][2][i].reshape(shape), zoom)]
            rows.append((f"{task}" if i == 0 else "", f"({base})" if i == 0 else "", row))
    th, tw = rows[0][2][0].shape[:2]
    pad, left, top = 2, 70, 14
    img = Image.new("RGB", (left + len(labels) * (tw + pad) + pad, top + len(rows) * (th + pad) + pad), (255,) * 3)
    draw = ImageDraw.Draw(img)
    for j, lab in enumerate(labels):
        draw.text((left + pad + j * (tw + pad), 1), lab[:14], fill=(0, 0, 0))
    for r, (name, base, row) in enumerate(rows):
        y0 = top + pad + r * (th + pad)
        draw.text((2, y0 + 2), name, fill=(0, 0, 0))
        draw.text((2, y0 + 14), base[:12], fill=(90, 90, 90))
        for j, a in enumerate(row):
            img.paste(Image.fromarray(a), (left + pad + j * (tw + pad), y0))
    img.save(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outputs", nargs="+", help="outputs of dpsolve run named TASK-METHOD.h5")
    p.add_argument("--md", help="write the tables here (markdown)")
    p.add_argument("--png", help="write the image grid here")
    p.add_argument("--images", type=int, default=2, help="images per task in the grid")
    p.add_argument("--zoom", type=int, default=3)
    a = p.parse_args(argv)
    tasks = load(a.outputs)
    all_scores = {task: scores(t) for task, t in tasks.items()}
    lines = []
    for task, t in tasks.items():
        inp = t["input"]
        lines += [f"### {task}: {len(inp['x0'])} images", "", "| method | PSNR | SSIM |", "|---|---:|---:|"]
        sc = all_scores[task]
        best = max(sc, key=lambda k: sc[k][0])
        for name, (ps, ss, _) in sc.items():
            kind = "" if name in t["methods"] else " (baseline)"
            b = "**" if name == best else ""
            lines.append(f"| {name}{kind} | {b}{ps:.2f}{b} | {ss:.3f} |")
        lines.append("")
    lines.append("PSNR (dB, range [-1, 1]) and SSIM (11x11 Gaussian window, sigma 1.5) of the posterior mean (samplers) "
                 "or the estimate (baselines), clipped to [-1, 1], averaged over the images; the best PSNR in bold.")
    text = "\n".join(lines)
    print(text)
    if a.md:
        open(a.md, "w").write(text + "\n")
    if a.png:
        grid(tasks, all_scores, a.images, a.zoom, a.png)
        print(f"wrote {a.png}")


if __name__ == "__main__":
    main()
