#!/bin/bash
# cli_images_finite: every sampler on a real image input stays finite (issue 10, items 1 and 2).
# tools/make_image_problem.py declares data_range = [-1, 1]; dpsolve copies it to the output, clips x0hat to it
# (docs/samplers.md) and every sampler, with the shipped Fashion-MNIST UNet, 20 steps, under random inpainting,
# finishes with finite draws, none of them counted in draws_out_of_range. ddpm's draws, the clipped x0hat of its
# last step, lie in [-1, 1].
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DPS_CLI_TIMEOUT=200

"$PYTHON" "$SRC/tools/make_image_problem.py" --mask random --images 1 --first 20 --out in.h5 >make.log 2>&1 ||
  { cat make.log >&2; fail "make_image_problem.py failed"; }
"$PYTHON" -c 'import h5py, sys; r = list(h5py.File("in.h5", "r").attrs["data_range"]); sys.exit(0 if r == [-1.0, 1.0] else f"in.h5: data_range {r}, expected [-1, 1]")'

run=(run -include configs/models/fmnist32.yaml -include_path "$SRC" -seed 1 -score_unet_weights "$SRC/data/models/fmnist32.h5"
     -input in.h5 -samples 1 -steps 20 -run_view 0 -progress 0)
k=0
for opts in "ddpm" "cdps" "cdps -cdps_coupling independent" "cadps" "cadps -cadps_variant released" "dps" "pigdm" "ddrm"; do
  k=$((k + 1))
  # shellcheck disable=SC2086 # the sampler's options are words
  dps 1 run$k.log "${run[@]}" -output out$k.h5 -sampler_type $opts
  "$PYTHON" - out$k.h5 "$opts" <<'PY'
import sys, h5py, numpy as np
path, opts = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    x, rng, far = f["samples"][...], list(f.attrs["data_range"]), int(f.attrs["draws_out_of_range"])
errors = []
if rng != [-1.0, 1.0]:
    errors.append(f"data_range {rng} in the output, expected [-1, 1]")
if not np.isfinite(x).all():
    errors.append("a draw is not finite")
if far:
    errors.append(f"draws_out_of_range = {far}")
if opts == "ddpm" and (x.min() < -1 or x.max() > 1):
    errors.append(f"ddpm's draws leave [-1, 1] ({x.min():g}, {x.max():g}): its last step returns the clipped x0hat")
print(f"{opts}: draws in [{x.min():.3g}, {x.max():.3g}]")
if errors:
    sys.exit(f"-sampler_type {opts}: " + "; ".join(errors))
PY
done
echo "cli_images_finite: all checks passed"
