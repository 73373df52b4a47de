#!/bin/bash
# cli_bitwise_ranks_batches: the results for input i depend only on (seed, i), never on the number of ranks or
# the batch size (methods.md section 9, design.md "Habits"): every dataset of the output is bit-identical, for
# every sampler.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ALL=(/samples /mean /std /y /x0 /done)
RUN=(run -samples 16 -steps 30 -seed 3 -run_view 0 -progress 0)

# --- cdps on a compressed-sensing problem: 1 rank batch 1, 2 ranks batch 7 (one batch), 2 ranks batch 3 ---
dps 1 sim.log simulate -output cs.h5 -dx 8 -dy 2 -inputs 7 -seed 0
dps 1 a.log "${RUN[@]}" -input cs.h5 -output a.h5 -sampler_type cdps -batch 1
dps 2 b.log "${RUN[@]}" -input cs.h5 -output b.h5 -sampler_type cdps -batch 7
dps 2 c.log "${RUN[@]}" -input cs.h5 -output c.h5 -sampler_type cdps -batch 3
same_datasets a.h5 b.h5 "${ALL[@]}"
same_datasets a.h5 c.h5 "${ALL[@]}"
# the measurements and ground truth are the input's, unchanged
same_datasets cs.h5 a.h5 /y /x0
[ ! -e a.h5.partial ] && [ ! -e b.h5.partial ] && [ ! -e c.h5.partial ] || fail "a .partial file was left behind"

# the comparison can fail: another seed gives other draws (and /y, /x0 stay the input's)
dps 2 s.log "${RUN[@]}" -input cs.h5 -output s.h5 -sampler_type cdps -batch 3 -seed 4
differ_datasets a.h5 s.h5 /samples
same_datasets a.h5 s.h5 /y /x0 /done

# --- ddpm (the unconditional sampler) ---
dps 1 da.log "${RUN[@]}" -input cs.h5 -output da.h5 -sampler_type ddpm -batch 1
dps 2 db.log "${RUN[@]}" -input cs.h5 -output db.h5 -sampler_type ddpm -batch 7
same_datasets da.h5 db.h5 "${ALL[@]}"
differ_datasets a.h5 da.h5 /samples

# --- every other sampler: 1 rank batch 1 against 2 ranks batch 3 ---
for sampler in cadps dps pigdm ddrm; do
  dps 1 "$sampler-1.log" "${RUN[@]}" -input cs.h5 -output "$sampler-1.h5" -sampler_type "$sampler" -batch 1
  dps 2 "$sampler-2.log" "${RUN[@]}" -input cs.h5 -output "$sampler-2.h5" -sampler_type "$sampler" -batch 3
  same_datasets "$sampler-1.h5" "$sampler-2.h5" "${ALL[@]}"
  differ_datasets a.h5 "$sampler-1.h5" /samples
done

# --- cadps's released variant (the authors' code, its own step code): 1 rank batch 1, 2 ranks batch 7 and 3 ---
REL=(-sampler_type cadps -cadps_variant released)
dps 1 rel-1.log "${RUN[@]}" "${REL[@]}" -input cs.h5 -output rel-1.h5 -batch 1
dps 2 rel-7.log "${RUN[@]}" "${REL[@]}" -input cs.h5 -output rel-7.h5 -batch 7
dps 2 rel-3.log "${RUN[@]}" "${REL[@]}" -input cs.h5 -output rel-3.h5 -batch 3
same_datasets rel-1.h5 rel-7.h5 "${ALL[@]}"
same_datasets rel-1.h5 rel-3.h5 "${ALL[@]}"
# the variant was taken: its draws are not the paper variant's
differ_datasets cadps-1.h5 rel-1.h5 /samples

# --- cdps's x0 form with the covariance-aware r_t^2: 1 rank batch 1, 2 ranks batch 3 ---
X0=(-sampler_type cdps -cdps_space x0 -cdps_x0_variance cadps)
dps 1 x0-1.log "${RUN[@]}" "${X0[@]}" -input cs.h5 -output x0-1.h5 -batch 1
dps 2 x0-3.log "${RUN[@]}" "${X0[@]}" -input cs.h5 -output x0-3.h5 -batch 3
same_datasets x0-1.h5 x0-3.h5 "${ALL[@]}"
differ_datasets a.h5 x0-1.h5 /samples

# --- inpainting, cdps with independent coupling and two solves per step ---
INP=(-sampler_type cdps -cdps_coupling independent -cdps_solves 2)
dps 1 simp.log simulate -output inp.h5 -dx 8 -inputs 7 -seed 1 -simulate_operator inpaint
dps 1 pa.log "${RUN[@]}" "${INP[@]}" -input inp.h5 -output pa.h5 -batch 1
dps 2 pb.log "${RUN[@]}" "${INP[@]}" -input inp.h5 -output pb.h5 -batch 7
dps 2 pc.log "${RUN[@]}" "${INP[@]}" -input inp.h5 -output pc.h5 -batch 3
same_datasets pa.h5 pb.h5 "${ALL[@]}"
same_datasets pa.h5 pc.h5 "${ALL[@]}"

# --- an input without /y: y is simulated from /x0 with the run seed, identically on any number of ranks ---
"$PYTHON" - <<'EOF'
import shutil, h5py
shutil.copy("cs.h5", "noy.h5")
with h5py.File("noy.h5", "r+") as f:
    del f["y"]
EOF
dps 1 ya.log "${RUN[@]}" -input noy.h5 -output ya.h5 -sampler_type cdps -batch 1
dps 2 yb.log "${RUN[@]}" -input noy.h5 -output yb.h5 -sampler_type cdps -batch 7
dps 2 yc.log "${RUN[@]}" -input noy.h5 -output yc.h5 -sampler_type cdps -batch 3
same_datasets ya.h5 yb.h5 "${ALL[@]}"
same_datasets ya.h5 yc.h5 "${ALL[@]}"
same_datasets cs.h5 ya.h5 /x0
# the simulated y is a real draw: finite, of the right shape, and close to A x0 (within a few sigma_y)
"$PYTHON" - <<'EOF'
import sys, h5py, numpy as np
with h5py.File("cs.h5", "r") as f, h5py.File("ya.h5", "r") as o:
    A, x0, sigma = f["operator/matrix"][...], f["x0"][...], f.attrs["sigma_y"]
    y = o["y"][...]
    if y.shape != f["y"].shape:
        sys.exit(f"simulated /y has shape {y.shape}, expected {f['y'].shape}")
    if not np.all(np.isfinite(y)):
        sys.exit("simulated /y is not finite")
    r = (y - x0 @ A.T) / sigma
    if np.max(np.abs(r)) > 6 or np.all(r == 0):
        sys.exit(f"simulated /y - A x0 is not noise of level sigma_y: residuals / sigma_y = {r}")
EOF
echo "PASS: $TEST_NAME"
