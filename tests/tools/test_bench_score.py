#!/usr/bin/python3
"""bench/images/score.py on the seed's new tasks (blur, super-resolution):
- read_input's A (dpsolve through dpstools.cop) of a circular motion blur equals numpy's FFT circular correlation;
- the Wiener baseline deconvolves with the kernel's flip (score.py's A correlates, scikit-image's wiener convolves):
  on noise-free circular motion blur with a tiny balance it recovers the image (PSNR > 40 dB), which the unflipped
  kernel does not;
- score_baselines gives every baseline of a blur and an sr input one finite row per image, with DC computed.
Usage: test_bench_score.py DPSOLVE SOURCE_DIR"""

import os
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
from dpstools import baselines  # noqa: E402
from skimage.restoration import wiener  # noqa: E402

errors = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)


tmp = tempfile.mkdtemp(prefix="test_bench_score.")
env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "tools"))


def make(args, name):
    out = os.path.join(tmp, name)
    r = subprocess.run([sys.executable, "-m", "dpstools.make", *args, "--images", "2", "--first", "2000",
                        "--simulate-y", "1", "--out", out], capture_output=True, text=True, env=env)
    check(r.returncode == 0, "make " + " ".join(args) + ("" if r.returncode == 0 else ": " + r.stderr))
    return out


circ = make(["blur", "--kernel", "motion", "--kernel-size", "9", "--intensity", "1.0", "--seed", "3", "--mode",
             "circular"], "circ.h5")
inp = score.read_input(circ)
x = inp["x0"].reshape(2, 32, 32)
k = inp["kernel"]
# numpy: circular correlation y[i, j] = sum k[a, b] x[i + a - p, j + b - q] = ifft(fft(x) conj(fft(g))), g the
# kernel folded onto the torus at (a - p, b - q)
g = np.zeros((32, 32))
p = k.shape[0] // 2
for a in range(k.shape[0]):
    for b in range(k.shape[1]):
        g[(a - p) % 32, (b - p) % 32] += k[a, b]
ref = np.real(np.fft.ifft2(np.fft.fft2(x) * np.conj(np.fft.fft2(g))))
ax = inp["apply"](inp["x0"]).reshape(2, 32, 32)
check(np.abs(ax - ref).max() < 1e-12, f"A by dpsolve = numpy's circular correlation ({np.abs(ax - ref).max():.1e})")
clean = dict(inp, y=ax.reshape(2, -1))
psnr = lambda e: score.image_metrics.psnr(e, x[0], 2.0)  # noqa: E731
flipped = wiener(ax[0], k[::-1, ::-1], 1e-6, clip=False)
unflipped = wiener(ax[0], k, 1e-6, clip=False)
check(psnr(flipped) > 40 and psnr(unflipped) < 30,
      f"Wiener with the flipped kernel recovers the image ({psnr(flipped):.1f} dB; unflipped {psnr(unflipped):.1f} dB)")
old = baselines.WIENER_BALANCE
baselines.WIENER_BALANCE = 1e-6
est = dict(baselines.baselines_blur(clean, 0))["wiener"]()
baselines.WIENER_BALANCE = old
check(psnr(est[0]) > 40, f"baselines.baselines_blur uses the flip ({psnr(est[0]):.1f} dB)")

for name, args, methods in (("motion.h5", ["blur", "--kernel", "motion"], {"blurred", "wiener", "wiener-unsupervised"}),
                            ("sr.h5", ["sr"], {"bicubic", "nearest"})):
    rows = list(score.score_baselines(make(args, name), "t"))
    got = {r["method"] for r in rows}
    ok = got == methods and len(rows) == 2 * len(methods) and all(np.isfinite(r["psnr_mean"]) and
                                                                  np.isfinite(r["dc_mean"]) for r in rows)
    check(ok, f"score_baselines {name}: {sorted(got)}, {len(rows)} rows, finite PSNR and DC")

import shutil  # noqa: E402
shutil.rmtree(tmp)
if errors:
    sys.exit(f"FAIL: bench score: {len(errors)} check(s) failed")
print("PASS: bench score")
