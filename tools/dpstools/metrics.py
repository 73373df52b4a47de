"""PSNR, SSIM, LPIPS and FID of dpsolve image outputs:

    PYTHONPATH=tools /usr/bin/python3 -m dpstools.metrics out-a.h5 [out-b.h5 ...] [--csv metrics.csv]

Per output (its /samples, /x0 and data_shape): PSNR and SSIM (tools/image_metrics.py: data range 2 for [-1, 1],
estimates clipped to it) of the posterior mean and the average over single draws; LPIPS (AlexNet, the `lpips`
package) of the posterior mean against the truth, averaged over the images; FID between the set of the truths and
the set of the first draws of every output given (all files together: FID needs many images, thousands for the
numbers of the literature), on the 2048-dimensional pool features of pytorch-fid's InceptionV3.

LPIPS and FID need PyTorch and the packages `lpips` and `pytorch-fid` with their pretrained weights (AlexNet from
torchvision, pt_inception-2015-12-05 from pytorch-fid's release), which they download on first use: on a machine
that cannot, place the files in torch's cache (~/.cache/torch/hub/checkpoints/) first. When any of them is missing
the tool says which and how to get it, and reports the rest. The Frechet distance itself (frechet_distance) is
numpy and scipy only, and is tested against scipy.linalg.sqrtm (tests/tools/test_dpstools_metrics.py).
"""

import argparse
import csv

import h5py
import numpy as np

import image_metrics

RANGE = (-1.0, 1.0)


def frechet_distance(mu1, cov1, mu2, cov2):
    """|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians. tr (C1 C2)^(1/2) is the sum of the
    square roots of the eigenvalues of the symmetric C1^(1/2) C2 C1^(1/2) (the same spectrum as C1 C2), computed
    by symmetric eigendecompositions: no complex parts, no ill-conditioned Schur iteration."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    c1, c2 = np.asarray(cov1, dtype=np.float64), np.asarray(cov2, dtype=np.float64)
    w, v = np.linalg.eigh((c1 + c1.T) / 2)
    s1 = (v * np.sqrt(np.maximum(w, 0))) @ v.T
    m = s1 @ c2 @ s1
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.sum(np.sqrt(np.maximum(ev, 0))))


def fid_from_features(f1, f2):
    """The Frechet distance between the Gaussians fitted to two feature sets [n, k] (mean, covariance with n - 1)."""
    f1, f2 = np.asarray(f1, dtype=np.float64), np.asarray(f2, dtype=np.float64)
    return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))


def missing(what):
    """None when `what` ('lpips' or 'fid') can run here, else a sentence saying what is missing and how to get it."""
    need = {"lpips": ("torch", "lpips"), "fid": ("torch", "pytorch_fid")}[what]
    pip = {"torch": "torch", "lpips": "lpips", "pytorch_fid": "pytorch-fid"}
    gone = []
    for m in need:
        try:
            __import__(m)
        except ImportError:
            gone.append(m)
    if gone:
        return (f"{what.upper()} not computed: the Python package(s) {', '.join(gone)} are not installed "
                f"(pip install {' '.join(pip[m] for m in gone)}; their pretrained weights must also be downloadable, "
                f"or be in ~/.cache/torch/hub/checkpoints/)")
    return None


def _to_torch_rgb(x, shape):
    """Rows [n, d] in [-1, 1] as a float tensor [n, 3, H, W] (gray images repeated over 3 channels)."""
    import torch
    t = torch.from_numpy(np.clip(x, *RANGE).reshape((-1,) + tuple(shape))).float()
    return t.repeat(1, 3, 1, 1) if shape[0] == 1 else t


def lpips_distance(est, truth, shape):
    """Mean LPIPS (AlexNet) between rows of est and truth, images in [-1, 1] (what lpips expects)."""
    import lpips
    import torch
    net = lpips.LPIPS(net="alex", verbose=False)
    with torch.no_grad():
        return float(net(_to_torch_rgb(est, shape), _to_torch_rgb(truth, shape)).mean())


def inception_features(x, shape, batch=50):
    """pytorch-fid's InceptionV3 pool features [n, 2048] of rows in [-1, 1] (its model takes [0, 1], resizes to
    299 x 299 and normalises itself)."""
    import torch
    from pytorch_fid.inception import InceptionV3
    model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            t = (_to_torch_rgb(x[i:i + batch], shape) + 1) / 2
            out.append(model(t)[0].squeeze(-1).squeeze(-1).numpy())
    return np.concatenate(out)


def read(path):
    with h5py.File(path, "r") as f:
        for name in ("samples", "x0"):
            if name not in f:
                raise SystemExit(f"{path}: no dataset /{name} (an output of dpsolve run on an input with /x0?)")
        if int(f.attrs.get("complete", 0)) != 1:
            raise SystemExit(f"{path}: the run is not complete (attribute complete != 1)")
        return f["samples"][...], f["x0"][...], tuple(int(v) for v in f.attrs["data_shape"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outputs", nargs="+")
    p.add_argument("--csv", help="write one row per output here")
    p.add_argument("--no-lpips", action="store_true")
    p.add_argument("--no-fid", action="store_true")
    a = p.parse_args(argv)
    why = {k: (None if getattr(a, "no_" + k) else missing(k)) for k in ("lpips", "fid")}
    rows, truths, draws = [], [], []
    shapes = set()
    for path in a.outputs:
        samples, x0, shape = read(path)
        shapes.add(shape)
        clip = np.clip(np.nan_to_num(samples), *RANGE)
        mean = clip.mean(axis=1)
        r = dict(output=path, images=len(x0), draws=samples.shape[1])
        r["psnr_mean"] = np.mean([image_metrics.psnr(mean[i], x0[i], 2.0) for i in range(len(x0))])
        r["ssim_mean"] = np.mean([image_metrics.ssim(mean[i].reshape(shape), x0[i].reshape(shape), 2.0)
                                  for i in range(len(x0))])
        r["psnr_draw"] = np.mean([image_metrics.psnr(d, x0[i], 2.0) for i in range(len(x0)) for d in clip[i]])
        r["ssim_draw"] = np.mean([image_metrics.ssim(d.reshape(shape), x0[i].reshape(shape), 2.0)
                                  for i in range(len(x0)) for d in clip[i]])
        if not a.no_lpips and why["lpips"] is None:
            r["lpips_mean"] = lpips_distance(mean, x0, shape)
        rows.append(r)
        truths.append(x0)
        draws.append(clip[:, 0])
    print(f"{'output':<40} {'images':>6} {'PSNR mean':>9} {'SSIM mean':>9} {'PSNR draw':>9} {'SSIM draw':>9}"
          + (f" {'LPIPS':>7}" if "lpips_mean" in rows[0] else ""))
    for r in rows:
        print(f"{r['output'][-40:]:<40} {r['images']:>6} {r['psnr_mean']:9.2f} {r['ssim_mean']:9.3f} "
              f"{r['psnr_draw']:9.2f} {r['ssim_draw']:9.3f}" + (f" {r['lpips_mean']:7.4f}" if "lpips_mean" in r else ""))
    for k in ("lpips", "fid"):
        if why[k]:
            print(why[k])
    if not a.no_fid and why["fid"] is None:
        if len(shapes) != 1:
            raise SystemExit("FID: the outputs hold images of different shapes")
        shape = shapes.pop()
        t, d = np.concatenate(truths), np.concatenate(draws)
        fid = fid_from_features(inception_features(d, shape), inception_features(t, shape))
        print(f"FID (first draws of all outputs against their truths, {len(t)} images): {fid:.3f}"
              + (" (fewer than 2048 images: not comparable with published FIDs)" if len(t) < 2048 else ""))
        for r in rows:
            r["fid_all"] = fid
    if a.csv:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
