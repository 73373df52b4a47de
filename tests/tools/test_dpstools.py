#!/usr/bin/python3
"""tools/dpstools (the input tool) against independent truth:
- kernels: the Gaussian equals scipy.ndimage.gaussian_filter of a centred delta (61x61 sigma 3, and 7x7 sigma 1);
  motion kernels are nonnegative, sum to 1, odd-sized, reproducible from the seed, lie inside the kernel, and a
  straight trajectory of known length L rasterizes to a line whose variance along it is L^2/12 plus the line's
  thickness and the pixel's, and across it only the latter; intensity 0 draws a straight line (rank-1 moments);
- the protocol's box: 128 x 128 at 256 x 256 with its corner over the whole range [16, 112], 16 x 16 at 32 x 32;
- sources: a folder of PNGs made here (non-square, with borders that the centre crop must remove, a known colour
  inside) and an .npy file;
- the writer: every operator's input passes `dpsolve check`, and the y stored by --simulate-y is A x0 + noise with
  A x0 equal to scipy.ndimage.correlate (blur reflect: mode 'mirror') and to block means (sr block), and the noise
  of standard deviation sigma_y; make_image_problem.py still writes its inputs.
Usage: test_dpstools.py DPSOLVE SOURCE_DIR"""

import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy import ndimage

DPSOLVE, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(SRC, "tools"))
from dpstools import cop, kernels, sources  # noqa: E402

errors = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)


# ---- kernels ---------------------------------------------------------------------------------------------------
def gaussian_1d(size, sigma):
    """The 1-d response of a Gaussian filter (taps exp(-t^2 / 2 sigma^2), |t| <= int(4 sigma + 0.5), normalised)
    to a centred delta, with 'reflect' folding (d c b a | a b c d) of the taps that leave [0, size)."""
    r = int(4 * sigma + 0.5)
    taps = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma))
    taps /= taps.sum()
    w = np.zeros(size)
    for p in range(size):
        for t in range(-r, r + 1):
            q = p + t
            while not 0 <= q < size:
                q = -q - 1 if q < 0 else 2 * size - 1 - q
            w[p] += taps[t + r] * (q == size // 2)
    return w


for size, sigma in ((61, 3.0), (7, 1.0), (7, 0.375)):
    w = gaussian_1d(size, sigma)
    err = np.abs(kernels.gaussian(size, sigma) - np.outer(w, w)).max()
    check(err < 1e-15, f"gaussian {size}x{size} sigma {sigma}: the folded 1-d formula, outer product ({err:.1e})")
check(kernels.scaled_kernel_size(256) == 61 and kernels.scaled_kernel_size(32) == 7, "kernel size 61 at 256, 7 at 32")

for size in (61, 7):
    ks = [kernels.motion(size, 0.5, np.random.default_rng(s)) for s in range(20)]
    check(all(k.shape == (size, size) for k in ks), f"motion {size}: shape {size}x{size}")
    check(all(k.min() >= 0 and abs(k.sum() - 1) < 1e-12 for k in ks), f"motion {size}: nonnegative, sum 1")
    again = kernels.motion(size, 0.5, np.random.default_rng(3))
    check(np.array_equal(again, ks[3]) and not np.array_equal(ks[3], ks[4]), f"motion {size}: reproducible, seeds differ")
    # the trajectory stays inside the kernel: no mass on the border rows and columns beyond the line's thickness
    pts = [kernels.motion_trajectory(size, 0.5, np.random.default_rng(s)) for s in range(20)]
    check(all(np.abs(p).max() <= (size - 1) / 2 - 0.5 + 1e-9 for p in pts), f"motion {size}: trajectory inside")


def moments(k):
    t = np.arange(k.shape[0]) - k.shape[0] // 2
    r, c = np.meshgrid(t, t, indexing="ij")
    m = np.array([(k * r).sum(), (k * c).sum()])
    cov = np.array([[(k * r * r).sum(), (k * r * c).sum()], [(k * r * c).sum(), (k * c * c).sum()]]) - np.outer(m, m)
    return m, np.linalg.eigvalsh(cov)


L, th, w = 40.0, 0.6, 1.0
seg = np.array([[-np.sin(th), -np.cos(th)], [np.sin(th), np.cos(th)]]) * L / 2
m, ev = moments(kernels.rasterize(seg, 61, width=w))
# along: uniform on [-L/2, L/2] (L^2/12) + the Gaussian thickness (w^2) + about a pixel's box (1/12)
along, across = L * L / 12 + w * w + 1 / 12, w * w + 1 / 12
check(np.abs(m).max() < 1e-6, f"segment: centred ({m})")
check(abs(ev[1] - along) < 0.02 * along and abs(ev[0] - across) < 0.25 * across,
      f"segment of length {L}: variances {ev[1]:.2f} along (expected {along:.2f}), {ev[0]:.3f} across ({across:.3f})")
straight = [moments(kernels.motion(61, 0.0, np.random.default_rng(s)))[1] for s in range(5)]
check(all(e[0] < 0.1 * e[1] and e[0] < 2 * across for e in straight), "intensity 0: a straight line")
curved = [moments(kernels.motion(61, 1.0, np.random.default_rng(s)))[1] for s in range(20)]
check(np.median([e[0] for e in curved]) > 2 * across, "intensity 1: curved lines (spread across the main axis)")

rng = np.random.default_rng(0)
boxes = [kernels.protocol_box(256, 256, rng) for _ in range(2000)]
check(all(b[2] == b[3] == 128 and 16 <= b[0] <= 112 and 16 <= b[1] <= 112 for b in boxes)
      and min(b[0] for b in boxes) == 16 and max(b[0] for b in boxes) == 112, "protocol box at 256: 128, margin 16")
b = kernels.protocol_box(32, 32, rng)
check(b[2] == b[3] == 16 and 2 <= b[0] <= 14, f"protocol box at 32: {b}")

# ---- sources ---------------------------------------------------------------------------------------------------
from PIL import Image  # noqa: E402

tmp = tempfile.mkdtemp(prefix="test_dpstools.")
photos = os.path.join(tmp, "photos")
os.mkdir(photos)
colours = {"b.png": (200, 40, 100), "a.png": (10, 250, 128), "c.jpeg": (128, 128, 128)}
for name, col in colours.items():
    a = np.zeros((30, 50, 3), dtype=np.uint8)  # 30 rows x 50 columns: the crop keeps columns 10..39
    a[:, :10] = (255, 0, 0)
    a[:, 40:] = (0, 0, 255)
    a[:, 10:40] = col
    Image.fromarray(a).save(os.path.join(photos, name), quality=100)
open(os.path.join(photos, "notes.txt"), "w").write("not an image")
x, names = sources.folder(photos, 16)
check(names == ["a.png", "b.png", "c.jpeg"] and x.shape == (3, 3, 16, 16), f"folder: names {names}, shape {x.shape}")
expect = np.array([np.array(colours[n], dtype=float) / 127.5 - 1 for n in names])[:, :, None, None]
err = np.abs(x[:2] - expect[:2]).max() * 127.5
check(err <= 1, f"folder: the centre crop removes the borders, the resize keeps the colour (PNG: {err:.2f} levels)")
err = np.abs(x[2, :, 4:12, 4:12] - expect[2]).max() * 127.5
check(err <= 4, f"folder: the same from a JPEG, inside (its compression: {err:.2f} levels)")
arr = np.random.default_rng(1).uniform(-1, 1, (4, 8, 8))
np.save(os.path.join(tmp, "x.npy"), arr)
xa, _ = sources.array_file(os.path.join(tmp, "x.npy"))
check(xa.shape == (4, 1, 8, 8) and np.array_equal(xa[:, 0], arr), "npy [N, H, W] -> (1, H, W)")


# ---- the writer, dpsolve check, and y from dpsolve ----------------------------------------------------------------
def make(args, out):
    env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "tools"))
    r = subprocess.run([sys.executable, "-m", "dpstools.make", *args, "--out", out, "--dpsolve", DPSOLVE],
                       capture_output=True, text=True, env=env, cwd=tmp)
    check(r.returncode == 0, f"make {' '.join(args)}" + ("" if r.returncode == 0 else ": " + r.stderr))
    return out


def dps_check(path, prior):
    r = subprocess.run([DPSOLVE, "check", "-input", path, *prior], capture_output=True, text=True, cwd=tmp)
    ok = r.returncode == 0 and "all checks passed" in r.stdout
    check(ok, f"dpsolve check {os.path.basename(path)}" + ("" if ok else ":\n" + r.stdout + r.stderr))


unet = ["-score_type", "unet", "-score_unet_weights", os.path.join(SRC, "data", "models", "fmnist32.h5")]
tasks = {"random": ["inpaint", "--mask", "random"], "box": ["inpaint", "--mask", "box"],
         "gauss": ["blur", "--kernel", "gaussian", "--blur-sigma", "1.0"], "motion": ["blur", "--kernel", "motion"],
         "motion-circ": ["blur", "--kernel", "motion", "--mode", "circular"], "sr": ["sr"],
         "sr-block": ["sr", "--kind", "block"], "cs": ["cs", "--rows", "64"]}
files = {}
for name, args in tasks.items():
    files[name] = make(args + ["--images", "3", "--first", "2000", "--simulate-y", "1"], os.path.join(tmp, name + ".h5"))
    dps_check(files[name], unet)


def load(name):
    with h5py.File(files[name], "r") as f:
        g = f["operator"]
        op = {k: g[k][...] for k in g}
        op.update({k: v for k, v in g.attrs.items()})
        return f["x0"][...].reshape(-1, 32, 32), f["y"][...], float(f.attrs["sigma_y"]), op


x0, y, s, op = load("gauss")
ref = np.stack([ndimage.correlate(im, op["kernel"], mode="mirror") for im in x0]).reshape(len(x0), -1)
ax = cop.apply(DPSOLVE, files["gauss"], x0.reshape(len(x0), -1))
check(np.abs(ax - ref).max() < 1e-12, f"blur reflect: A x by dpsolve = scipy.ndimage.correlate mode mirror "
      f"({np.abs(ax - ref).max():.1e})")
z = (y - ref) / s
check(abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.05, f"blur: y - A x0 is noise of sigma_y (mean {z.mean():.3f}, "
      f"std {z.std():.3f} in units of sigma_y)")
x0, y, s, op = load("sr-block")
ref = x0.reshape(len(x0), 8, 4, 8, 4).mean(axis=(2, 4)).reshape(len(x0), -1)
z = (y - ref) / s
check(y.shape == (3, 64) and abs(z.std() - 1) < 0.1, f"sr block: y = block means + noise (std {z.std():.3f})")
with h5py.File(files["box"], "r") as f:
    box = f["operator"].attrs["box"]
check(box[2] == box[3] == 16, f"box task: the protocol's box scaled to 32: {box}")

rgb = make(["blur", "--kernel", "motion", "--folder", photos, "--size", "16"], os.path.join(tmp, "rgb.h5"))
with h5py.File(rgb, "r+") as f:
    check([n.decode() for n in f["names"][...]] == names and tuple(f.attrs["data_shape"]) == (3, 16, 16)
          and "y" not in f, "folder input: names kept, data_shape (3, 16, 16), no /y (dpsolve run simulates it)")
    d = 3 * 16 * 16
    f["prior/weights"], f["prior/means"], f["prior/variances"] = np.ones(1), np.zeros((1, d)), np.ones(1)
dps_check(rgb, [])

# the old tool still writes its inputs (a thin wrapper on the writer)
r = subprocess.run([sys.executable, os.path.join(SRC, "tools", "make_image_problem.py"), "--mask", "box", "--images",
                    "2", "--out", os.path.join(tmp, "old.h5")], capture_output=True, text=True)
check(r.returncode == 0, "make_image_problem.py" + ("" if r.returncode == 0 else ": " + r.stderr))
dps_check(os.path.join(tmp, "old.h5"), unet)
# an existing output is refused, and the file is left as it was
before = open(files["sr"], "rb").read()
env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "tools"))
r = subprocess.run([sys.executable, "-m", "dpstools.make", "sr", "--out", files["sr"]], capture_output=True, text=True,
                   env=env)
check(r.returncode != 0 and "exists" in r.stderr and open(files["sr"], "rb").read() == before,
      "an existing output is refused and left untouched")

import shutil  # noqa: E402
shutil.rmtree(tmp)
if errors:
    sys.exit(f"FAIL: dpstools: {len(errors)} check(s) failed")
print("PASS: dpstools")
