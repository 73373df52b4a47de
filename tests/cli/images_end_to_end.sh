#!/bin/bash
# cli_images_end_to_end: the image path of the README's default job, small: Fashion-MNIST test images made into
# inputs by tools/make_image_problem.py (random and box inpainting), C-DPS with the shipped UNet
# (data/models/fmnist32.h5) on 1 and 2 ranks, and tools/image_report.py. Checks:
#  - the input holds what the tool was asked for (the test images of the Debian package, the mask, y = mask (x0 + n))
#  - 1 and 2 ranks give the same bits (methods.md section 9, with a learned score)
#  - the observed pixels of the posterior mean agree with the truth to within the noise (RMS < 2 sigma_y)
#  - the posterior is uncertain where data are missing: the draws' std on the missing pixels is over 3 times that on
#    the observed ones; and the learned prior fills them: under random inpainting the posterior mean's PSNR beats
#    the zero-filled measurement's by 5 dB on every image (for a box, 0 is close to the truth's gray, no test)
#  - the report's numbers are those of tools/image_metrics.py on the files
#  - the report draws a grid of the right size
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DPS_CLI_TIMEOUT=200

for mask in random box; do
  "$PYTHON" "$SRC/tools/make_image_problem.py" --mask $mask --images 3 --first 10 --out in-$mask.h5 >make.log 2>&1 ||
    { cat make.log >&2; fail "make_image_problem.py --mask $mask failed"; }
  run=(run -options_file_yaml "$SRC/jobs/fmnist-demo.yaml" -include_path "$SRC" -score_unet_weights "$SRC/data/models/fmnist32.h5"
       -input in-$mask.h5 -samples 2 -steps 50 -run_view 0 -progress 0)
  dps 2 run2-$mask.log "${run[@]}" -output out2-$mask.h5
  dps 1 run1-$mask.log "${run[@]}" -output out1-$mask.h5 -batch 3
  same_datasets out2-$mask.h5 out1-$mask.h5 /samples /mean /std /y /x0
done
# the image model on a problem of another dimension: refused, naming the file, the score type and both sizes
dps 1 sim.log simulate -output gmm.h5 -dx 8 -dy 2 -inputs 2
dps_fails 1 wrongd.log run -input gmm.h5 -output wrongd.h5 -score_type unet -score_unet_weights "$SRC/data/models/fmnist32.h5"
expect_in wrongd.log "gmm.h5: the prior (score type unet) has dimension 1024 but the data have 8 entries per input"
"$PYTHON" "$SRC/tools/make_image_problem.py" --mask box --out in-random.h5 >exists.log 2>&1 && fail "make_image_problem.py overwrote in-random.h5"
grep -q "in-random.h5 exists" exists.log || { cat exists.log >&2; fail "make_image_problem.py: no clear message for an existing file"; }

"$PYTHON" "$SRC/tools/image_report.py" out2-random.h5 out2-box.h5 --png grid.png --csv report.csv --draws 2 >report.log 2>&1 ||
  { cat report.log >&2; fail "image_report.py failed"; }
cat report.log

"$PYTHON" - "$SRC" <<'PY'
import csv, gzip, sys, h5py, numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[1] + "/tools")
import image_metrics
errors = []
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    raw = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)
report = {(r["output"], int(r["image"])): r for r in csv.DictReader(open("report.csv"))}
for mask in ("random", "box"):
    with h5py.File(f"in-{mask}.h5", "r") as fin, h5py.File(f"out2-{mask}.h5", "r") as fout:
        x0, y, m, sigma = fin["x0"][...], fin["y"][...], fin["operator/mask"][...], fin.attrs["sigma_y"]
        truth = raw[10:13].astype(np.float64) / 127.5 - 1
        if not np.allclose(x0.reshape(3, 32, 32)[:, 2:30, 2:30], truth, atol=1e-6) or not np.all(x0.reshape(3, 32, 32)[:, :2] == -1):
            errors.append(f"{mask}: /x0 is not test images 10..12 padded with -1")
        if mask == "box" and not (m.reshape(32, 32)[8:24, 8:24].sum() == 0 and m.sum() == 1024 - 256):
            errors.append("box: the mask is not the 16x16 box at (8, 8)")
        if mask == "random" and abs(m.mean() - 0.3) > 0.05:
            errors.append(f"random: {m.mean():.3f} of the pixels observed, not about 0.3")
        r = (y - m * x0)[:, m == 1]
        if np.any(y[:, m == 0] != 0) or not 0.8 * sigma < r.std() < 1.2 * sigma:
            errors.append(f"{mask}: y is not mask (x0 + sigma_y n) (residual std {r.std():.4f}, sigma_y {sigma})")
        mean = fout["mean"][...]
        rms = np.sqrt(np.mean((mean - x0)[:, m == 1] ** 2))
        std = fout["std"][...]
        s_missing, s_observed = std[:, m == 0].mean(), std[:, m == 1].mean()
        print(f"{mask}: observed pixels of the posterior mean: RMS error {rms:.4f} (sigma_y {sigma}); "
              f"mean std of the draws {s_missing:.4f} on missing pixels, {s_observed:.4f} on observed ones")
        if not s_missing > 3 * s_observed:
            errors.append(f"{mask}: the draws vary as much on observed pixels (std {s_observed:.4f}) as on missing ones ({s_missing:.4f})")
        if rms > 2 * sigma:
            errors.append(f"{mask}: the observed pixels of the posterior mean are off by RMS {rms:.4f} > 2 sigma_y")
        for i in range(3):
            row = report[(f"out2-{mask}.h5", i)]
            ref = x0[i].reshape(1, 32, 32)
            est = np.clip(mean[i].reshape(1, 32, 32), -1, 1)
            zf = np.clip((y[i] * m).reshape(1, 32, 32), -1, 1)
            p, s, pz = image_metrics.psnr(est, ref, 2), image_metrics.ssim(est, ref, 2), image_metrics.psnr(zf, ref, 2)
            if abs(float(row["psnr_mean"]) - p) > 1e-9 or abs(float(row["ssim_mean"]) - s) > 1e-9 or abs(float(row["psnr_zero_filled"]) - pz) > 1e-9:
                errors.append(f"{mask} image {i}: the report's numbers are not those of the files")
            if mask == "random" and p < pz + 5:
                errors.append(f"{mask} image {i}: posterior mean PSNR {p:.2f} dB is not 5 dB above the zero-filled {pz:.2f} dB")
w, h = Image.open("grid.png").size
# columns truth, measured, 2 draws, mean, std of 32 px x zoom 3 with 2 px gaps; 2 files of 3 rows under a label
if (w, h) != (6 * 98 + 2, 2 * (14 + 3 * 98) + 2):
    errors.append(f"grid.png is {w}x{h}")
if errors:
    sys.exit("FAIL: images_end_to_end: " + "; ".join(errors))
PY
echo "PASS: $TEST_NAME"
