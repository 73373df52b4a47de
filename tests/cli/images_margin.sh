#!/bin/bash
# cli_images_margin: every conditional sampler, on real images, recovers them: on random (70% missing) and box
# (16x16) inpainting of two held-out Fashion-MNIST test images (3000, 3001: neither the demo's nor the benchmark's,
# never used to tune anything), with the shipped UNet, 25 steps (ddrm: its default 20) and 2 draws, the posterior
# mean's PSNR beats that of the zero-filled measurement by a margin (5 dB random, 0.75 dB box, where y already
# holds 3/4 of the image), and its draws stay finite and in range (issue 10, item 7). ddpm does not condition and
# is checked by cli_images_finite instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DPS_CLI_TIMEOUT=200
# Measured when the test was written (mean over the 2 images and 2 draws): zero-filled 9.18 dB (random) and
# 17.10 dB (box); the samplers 17.7-23.6 dB (random) and 18.4-22.4 dB (box), the smallest margins those of cdps's
# x0 form (18.39, box) and independent coupling (17.69, random; 18.54, box) at only 25 steps. A sampler that
# returns y, ignores it or diverges (cadps's paper variant before issue 10's fix: 9.75 dB on both) falls below.
MARGIN_random=${MARGIN_random:-5.0}
MARGIN_box=${MARGIN_box:-0.75}

for mask in random box; do
  "$PYTHON" "$SRC/tools/make_image_problem.py" --mask $mask --images 2 --first 3000 --out $mask.h5 >make.log 2>&1 ||
    { cat make.log >&2; fail "make_image_problem.py --mask $mask failed"; }
done

run=(run -include configs/models/fmnist32.yaml -include_path "$SRC" -seed 1 -score_unet_weights "$SRC/data/models/fmnist32.h5"
     -samples 2 -steps 25 -run_view 0 -progress 0)
k=0
for opts in "cdps" "cdps -cdps_coupling independent" "cdps -cdps_space x0" "cadps" "cadps -cadps_variant released" \
            "dps" "pigdm" "ddrm -steps 20"; do
  for mask in random box; do
    k=$((k + 1))
    # shellcheck disable=SC2086 # the sampler's options are words
    dps 1 run$k.log "${run[@]}" -input $mask.h5 -output out$k.h5 -sampler_type $opts
    margin=MARGIN_$mask
    "$PYTHON" - $mask.h5 out$k.h5 "$opts" $mask "${!margin}" "$SRC/tools" <<'PY'
import sys, h5py, numpy as np
inp, out, opts, mask, margin, tools = sys.argv[1:7]
sys.path.insert(0, tools)
import image_metrics
with h5py.File(inp, "r") as f:
    x0, y = f["x0"][...], f["y"][...]
    shape = tuple(f.attrs["data_shape"])
with h5py.File(out, "r") as f:
    draws, mean, far = f["samples"][...], f["mean"][...], int(f.attrs["draws_out_of_range"])
# the zero-filled measurement is y itself (inpainting: y = mask * (x0 + noise), the missing pixels 0)
def psnr(est):
    return np.mean([image_metrics.psnr(np.clip(e, -1, 1).reshape(shape), t.reshape(shape), 2.0) for e, t in zip(est, x0)])
p, pz = psnr(mean), psnr(y)
errors = []
if not np.isfinite(draws).all():
    errors.append("a draw is not finite")
if far:
    errors.append(f"draws_out_of_range = {far}")
if p < pz + float(margin):
    errors.append(f"posterior mean {p:.2f} dB does not beat the zero-filled {pz:.2f} dB by {margin} dB")
print(f"{opts:32s} {mask:6s}: mean {p:.2f} dB, zero-filled {pz:.2f} dB, draws in [{draws.min():.3g}, {draws.max():.3g}]")
if errors:
    sys.exit(f"-sampler_type {opts} ({mask}): " + "; ".join(errors))
PY
  done
done
echo "cli_images_margin: all checks passed"
