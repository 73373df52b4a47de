#!/bin/bash
# cli_images_guided: PiGDM on real images stays in range and uses the measurement (issue 10, item 3). Before the
# fix, PiGDM's guidance entered a DDIM step as a posterior score (eps' = eps - sqrt(1 - abar_t) g), which moves
# x_{t-1} by about 0.20 g at t = T of 100 steps where the authors' weight sqrt(abar_{t-1} abar_t) r_t^2 is 4.5e-5,
# and reached 1e27 in 30 steps (633 with x0hat clipped); methods.md sections 5 and 6 say what replaced it and why.
# Two Fashion-MNIST test images (20, 21), random (70% missing) and box (16x16) inpainting, the shipped UNet,
# sigma_y 0.05, 30 steps, 2 draws, x0hat clipping OFF (the fix must not rely on it) and ON. Checks per run:
#  - every draw is finite and max |x| <= 10 (the data range is [-1, 1]; the diverged runs were at 633..1e27)
#  - the posterior mean's PSNR, averaged over the 2 images, beats the zero-filled measurement's by 5 dB (random)
#    or 0.5 dB (box: the zero-filled box is already close to the gray the box covers)
# and the data variance s^2 of r_t^2 that the run reports: 1 from data_range [-1, 1]; on a Gaussian-mixture
# problem, the prior's trace(Cov[x0]) / d computed here from /prior with numpy.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DPS_CLI_TIMEOUT=200
export OPENBLAS_NUM_THREADS=1

for mask in random box; do
  "$PYTHON" "$SRC/tools/make_image_problem.py" --mask $mask --images 2 --first 20 --out in-$mask.h5 >make.log 2>&1 ||
    { cat make.log >&2; fail "make_image_problem.py --mask $mask failed"; }
done
runs=()
guided() { # guided NAME MASK options...
  local name=$1 mask=$2
  shift 2
  dps 1 $name-$mask.log run -options_file_yaml "$SRC/configs/models/fmnist32.yaml" -include_path "$SRC" \
    -score_unet_weights "$SRC/data/models/fmnist32.h5" -input in-$mask.h5 -output $name-$mask.h5 \
    -samples 2 -steps 30 -batch 2 -seed 3 -progress 0 -sampler_type pigdm "$@"
  runs+=("$name-$mask.h5 in-$mask.h5 $mask")
}
for mask in random box; do
  guided pigdm $mask -clip_x0hat false
  guided pigdm-clip $mask
done

"$PYTHON" "$SRC/tests/cli/images_score.py" "$TEST_NAME" "$SRC" "${runs[@]}"

# PETSc prints 1 as "1."
grep -Eq "data variance s\^2 = 1\.? \(from the data range" pigdm-random.log ||
  { grep -i "variance" pigdm-random.log >&2; fail "pigdm on an image input does not report s^2 = 1 from data_range [-1, 1]"; }

# the Gaussian mixture: s^2 is the prior's variance per entry, (sum_k w_k (d v_k + |mu_k|^2) - |sum_k w_k mu_k|^2) / d
dps 1 sim.log simulate -output gmm.h5 -dx 8 -dy 2 -inputs 1 -seed 4
dps 1 gmm.log run -input gmm.h5 -output gmm-out.h5 -sampler_type pigdm -samples 4 -steps 10 -seed 1 -progress 0
"$PYTHON" - gmm.h5 gmm.log <<'PY'
import sys, re, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    w, mu, v = (f["prior/" + k][...] for k in ("weights", "means", "variances"))
w = w / w.sum()
d = mu.shape[1]
s2 = ((w * (d * v + (mu**2).sum(1))).sum() - ((w[:, None] * mu).sum(0) ** 2).sum()) / d
got = re.search(r"data variance s\^2 = ([0-9.eE+-]+) \(from the prior\)", open(sys.argv[2]).read())
if not got or abs(float(got.group(1)) - s2) > 1e-5 * s2:
    sys.exit(f"FAIL: images_guided: pigdm on the mixture reports s^2 {got.group(1) if got else 'nothing'}, the prior's is {s2:.6g}")
print(f"gmm: s^2 = {float(got.group(1)):g} (numpy: {s2:.6g})")
PY
echo "PASS: $TEST_NAME"
