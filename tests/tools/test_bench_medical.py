#!/usr/bin/python3
"""The medical baselines of bench/images (dpstools.baselines, dpstools.recon) and the conversion of a user's data
(dpstools.convert, docs/operators.md), against independent truth:
- the MRI A in numpy (read_input's, used by the baselines) equals dpsolve's (dpstools.cop) on single- and 4-coil
  inputs of the input tool, its adjoint satisfies <A x, y> = <x, A^T y>, and the stored y is A x0 + sigma_y n;
- FBP (scikit-image's iradon mapped to our geometry) of dpsolve's sinogram (180 views) of an off-centre Gaussian
  blob recovers the blob (relative L2 error < 5%); iradon given our sinogram as it is (no half-pixel mapping) errs
  more than twice as much, and so do the negated angles;
- the TV reconstruction minimises its objective: below the objective at the truth and at the zero-filled image,
  and TV_ITERS iterations within 1e-4 relative of 1000;
- score_baselines gives each MRI and CT baseline one finite row per image;
- convert bart: a complex image, 4 coil maps and a k-space made with numpy's FFT (independent of dpsolve), written
  as BART .cfl/.hdr pairs byte by byte: dpsolve's A of the image reproduces the converted y (to complex64
  rounding) and `dpsolve check` accepts the input; convert ct: the exact line integrals of an off-centre disc in
  ASTRA's convention (chord lengths) agree with dpsolve's A of the pixelated disc to discretisation accuracy (5%),
  the mirrored convention does not (> 30%); convert matrix: dpsolve's A x equals scipy's A @ x.
Usage: test_bench_medical.py DPSOLVE SOURCE_DIR"""

import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DPSOLVE, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.environ["DPSOLVE"] = DPSOLVE
sys.path.insert(0, os.path.join(SRC, "bench", "images"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import score  # noqa: E402
from dpstools import baselines, cop, recon  # noqa: E402

errors = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)


tmp = tempfile.mkdtemp(prefix="test_bench_medical.")
env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "tools"))


def tool(module, args, name, images=True):
    out = os.path.join(tmp, name)
    extra = ["--images", "2", "--first", "2000", "--simulate-y", "1"] if images else []
    r = subprocess.run([sys.executable, "-m", module, *args, *extra, "--out", out], capture_output=True, text=True,
                       env=env)
    check(r.returncode == 0, f"{module} " + " ".join(args) + ("" if r.returncode == 0 else ": " + r.stderr))
    return out


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


# ---- MRI: numpy's A = dpsolve's ----
rng = np.random.default_rng(0)
for name, args in (("mri1.h5", []), ("mri4c.h5", ["--coils", "4"])):
    path = tool("dpstools.make", ["mri", "--kmask", "random", "--accel", "4", *args], name)
    inp = score.read_input(path)
    x = rng.standard_normal((3, inp["x0"].shape[1]))
    ours, theirs = inp["apply"](x), cop.apply(DPSOLVE, path, x)
    check(rel(ours, theirs) < 1e-13, f"{name}: numpy's A = dpsolve's ({rel(ours, theirs):.1e})")
    v = rng.standard_normal(ours.shape)
    lhs, rhs = (ours * v).sum(), (x * inp["mri"].adjoint(v)).sum()
    check(abs(lhs - rhs) < 1e-12 * abs(lhs), f"{name}: <A x, y> = <x, A^T y> ({abs(lhs - rhs) / abs(lhs):.1e})")
    noise = (inp["y"] - inp["apply"](inp["x0"])) / inp["sigma_y"]
    check(abs(noise.std() - 1) < 0.1, f"{name}: stored y = A x0 + sigma_y n (noise std {noise.std():.3f})")
    mri_inp = inp

# ---- FBP: the mapping to iradon's geometry ----
ct_path = tool("dpstools.make", ["ct", "--views", "180"], "ct180.h5")
ct = score.read_input(ct_path)
A = baselines.dense_matrix(ct)
r, c = np.mgrid[0:32, 0:32]
px, py = c - 16 + 0.5, 16 - r - 0.5  # our pixel centres (methods.md section 8)
blob = np.exp(-((px - 4) ** 2 + (py + 6) ** 2) / (2 * 2.5 ** 2))
g = ct["ct"]
sino = (A @ blob.reshape(-1)).reshape(len(g["angles"]), g["det_count"])
good = recon.fbp_parallel(sino, g["angles"], g["det_spacing"], 32, 32)
from skimage.transform import iradon  # noqa: E402
naive = iradon(sino.T[:-1], np.rad2deg(g["angles"]), output_size=32, circle=False)
flipped = recon.fbp_parallel(sino, -g["angles"], g["det_spacing"], 32, 32)
check(rel(good, blob) < 0.05 and rel(naive, blob) > 2 * rel(good, blob) and rel(flipped, blob) > 2 * rel(good, blob),
      f"FBP of an off-centre blob: relative error {rel(good, blob):.3f}; iradon without the mapping "
      f"{rel(naive, blob):.3f}, negated angles {rel(flipped, blob):.3f}")

# ---- TV minimises its objective ----
inp = mri_inp
Ad = baselines.dense_matrix(inp)
lam = baselines.TV_LAMBDA_MRI
tv = baselines.tv_solver(inp)
aty = inp["y"] @ Ad
x_tv = tv.solve(aty, lam, baselines.TV_ITERS)
x_long = tv.solve(aty, lam, 1000)
f = lambda v: recon.tv_objective(lambda q: q @ Ad.T, inp["y"], v, inp["shape"], lam)  # noqa: E731
zf = np.stack([baselines.zero_filled_mri(inp, v) for v in inp["y"]])
check(np.all(f(x_tv) < f(inp["x0"])) and np.all(f(x_tv) < f(zf)),
      f"TV's objective {f(x_tv)} below the truth's {f(inp['x0'])} and zero-filled's {f(zf)}")
change = np.max(np.abs(f(x_tv) - f(x_long)) / f(x_long))
check(change < 1e-4, f"TV: {baselines.TV_ITERS} iterations within {change:.1e} of 1000")

# ---- score_baselines on MRI and CT ----
for path, methods in ((mri_inp["path"], {"zero-filled", "tv"}),
                      (tool("dpstools.make", ["ct", "--views", "30"], "ct30.h5"), {"fbp", "tv"})):
    rows = list(score.score_baselines(path, "t"))
    got = {r["method"] for r in rows}
    check(got == methods and len(rows) == 2 * len(methods) and
          all(np.isfinite(r["psnr_mean"]) and np.isfinite(r["dc_mean"]) for r in rows),
          f"score_baselines {os.path.basename(path)}: {sorted(got)}, {len(rows)} rows, finite PSNR and DC")


# ---- convert bart: k-space and maps made with numpy's FFT, in BART's files ----
def write_cfl(name, a):
    """BART's pair: the header's dimensions (at least 5 here), complex64 data in column-major order."""
    with open(name + ".hdr", "w") as h:
        h.write("# Dimensions\n" + " ".join(str(d) for d in a.shape) + "\n")
    np.asarray(a, dtype=np.complex64).ravel(order="F").tofile(name + ".cfl")


H, W, coils = 24, 20, 4
from dpstools import medical  # noqa: E402
maps = medical.coil_maps(coils, H, W)
img = rng.standard_normal((H, W)) + 1j * rng.standard_normal((H, W))
mask = medical.mask_random_lines(H, W, 4, 0.08, rng)
k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(maps * img, axes=(1, 2)), norm="ortho"), axes=(1, 2)) * mask
write_cfl(os.path.join(tmp, "ksp"), np.transpose(k, (1, 2, 0))[:, :, None, :])
write_cfl(os.path.join(tmp, "sens"), np.transpose(maps, (1, 2, 0))[:, :, None, :, None])
conv = tool("dpstools.convert", ["bart", "--kspace", os.path.join(tmp, "ksp"), "--maps", os.path.join(tmp, "sens"),
                                 "--sigma-y", "0.01"], "bart.h5", images=False)
with h5py.File(conv, "r") as fh:
    y = fh["y"][...]
ax = cop.apply(DPSOLVE, conv, np.concatenate([img.real.reshape(-1), img.imag.reshape(-1)])[None])
check(y.shape == ax.shape and rel(ax, y) < 1e-6, f"convert bart: dpsolve's A of the image = the k-space ({rel(ax, y):.1e})")
shutil.copy(conv, conv + ".check.h5")  # with a stand-in prior (one standard Gaussian): check needs one
with h5py.File(conv + ".check.h5", "r+") as fh:
    d = 2 * H * W
    fh["prior/weights"], fh["prior/means"], fh["prior/variances"] = np.ones(1), np.zeros((1, d)), np.ones(1)
r = subprocess.run([DPSOLVE, "check", "-input", conv + ".check.h5"], capture_output=True, text=True)
ok = r.returncode == 0 and "all checks passed" in r.stdout
check(ok, "dpsolve check accepts the converted BART input" + ("" if ok else ": " + r.stderr + r.stdout))

# ---- convert ct: ASTRA's convention, against exact line integrals ----
angles = np.arange(60) * np.pi / 60
D = 45
t = (np.arange(D) - (D - 1) / 2) * 1.0
cx, cy, rad = 4.0, -3.0, 6.0  # a disc at x = 4, y = -3 (y up), radius 6 pixels
sub = 8  # the disc's pixel values: the covered fraction of each pixel (8 x 8 subsamples)
s = (np.arange(sub) + 0.5) / sub - 0.5
fx = (px[..., None, None] + s[None, None, None, :]) - cx
fy = (py[..., None, None] - s[None, None, :, None]) - cy
disc = ((fx ** 2 + fy ** 2) <= rad ** 2).mean(axis=(2, 3))[:32, :32]
proj = np.array([2 * np.sqrt(np.maximum(0, rad ** 2 - (t - (cx * np.cos(a) + cy * np.sin(a))) ** 2)) for a in angles])
np.save(os.path.join(tmp, "sino.npy"), proj)
np.save(os.path.join(tmp, "angles.npy"), angles)
conv = tool("dpstools.convert", ["ct", "--sinogram", os.path.join(tmp, "sino.npy"), "--angles",
                                 os.path.join(tmp, "angles.npy"), "--image-size", "32,32", "--sigma-y", "0.1"],
            "ct.h5", images=False)
with h5py.File(conv, "r") as fh:
    y = fh["y"][...]
ax = cop.apply(DPSOLVE, conv, disc.reshape(1, -1))
mirrored = cop.apply(DPSOLVE, conv, disc[::-1].reshape(1, -1))
check(rel(ax, y) < 0.05 and rel(mirrored, y) > 0.3,
      f"convert ct: dpsolve's A of the disc = its exact line integrals ({rel(ax, y):.3f}; mirrored {rel(mirrored, y):.3f})")

# ---- convert matrix ----
import scipy.sparse  # noqa: E402
M = scipy.sparse.random(50, 64, density=0.2, random_state=1, format="csr")
xs = rng.standard_normal((2, 64))
scipy.sparse.save_npz(os.path.join(tmp, "A.npz"), M)
np.save(os.path.join(tmp, "y.npy"), (M @ xs.T).T)
conv = tool("dpstools.convert", ["matrix", "--matrix", os.path.join(tmp, "A.npz"), "--y", os.path.join(tmp, "y.npy"),
                                 "--data-shape", "1,8,8", "--sigma-y", "0.01"], "matrix.h5", images=False)
ax = cop.apply(DPSOLVE, conv, xs)
check(rel(ax, (M @ xs.T).T) < 1e-14, f"convert matrix: dpsolve's A x = scipy's ({rel(ax, (M @ xs.T).T):.1e})")

shutil.rmtree(tmp)
if errors:
    sys.exit(f"FAIL: bench medical: {len(errors)} check(s) failed")
print("PASS: bench medical")
