#!/bin/bash
# restart_cdps_smc: C-DPS with particles (-cdps_smc, methods.md section 3 "Particles"), with pinned noise (the
# default) and fresh noise, gives the same bits whatever the rank count, the batch size or a restart (methods.md
# section 9): its log-weights, ancestors, the input's path, each particle's noise and the counts are sampler state in
# the checkpoint, its resampling uniform is addressed by (input, step), and the
# S particles of an input always step together on one rank. /cdps_smc (resamplings, ESS, ancestors) is compared too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ALL=("${OUTPUTS[@]}" /cdps_smc)
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 0
for noise in pinned fresh; do
  # -cdps_smc_ess 0.9: resampled at many steps, so that a restart falls between resamplings with unequal weights
  RUN=(run -input in.h5 -samples 16 -steps 40 -seed 3 -run_view 0 -progress 0 -sampler_type cdps -cdps_smc -cdps_smc_ess 0.9 -cdps_smc_noise $noise)
  CK=(-checkpoint ck.h5 -checkpoint_every 10)
  dps 1 ref.log "${RUN[@]}" -output ref.h5 -batch 7
  is_complete ref.h5 || fail "an uninterrupted run is not marked complete"
  expect_in ref.log "cdps smc: input 6: ESS min"
  # the particles were resampled along the way (not only at the end), and weights were unequal in between
  "$PYTHON" -c '
import h5py, sys
d = h5py.File("ref.h5")["cdps_smc"][:]
print("resamplings per input", d[:, 0], "min ESS", d[:, 1])
sys.exit(0 if d.shape == (7, 4) and (d[:, 0] > 0).all() and (d[:, 1] < 16).all() else 1)' || fail "ref.h5 ($noise): /cdps_smc shows no resampling before the end, or no step with unequal weights"

  # --- ranks and batches: 2 ranks batch 3, 2 ranks batch 1, 1 rank batch 2 ---
  dps 2 a.log "${RUN[@]}" -output a.h5 -batch 3
  dps 2 b.log "${RUN[@]}" -output b.h5 -batch 1
  dps 1 c.log "${RUN[@]}" -output c.h5 -batch 2
  for f in a b c; do same_datasets ref.h5 $f.h5 "${ALL[@]}"; done

  # --- killed at a step (2 ranks, batch 3), continued on 1 rank with batch 2; then chained over 3 runs ---
  killed 2 k1.log step:23 "${RUN[@]}" -output out.h5 -batch 3 "${CK[@]}"
  dps 1 r1.log "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}" -restart
  expect_in r1.log "restart from ck.h5: 0 of 7 inputs done, 6 in flight"
  same_output ref.h5 out.h5
  same_datasets ref.h5 out.h5 /cdps_smc
  rm out.h5
  killed 1 k2.log step:97 "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}"
  killed 3 k3.log step:17 "${RUN[@]}" -output out.h5 -batch 1 "${CK[@]}" -restart
  dps 2 r3.log "${RUN[@]}" -output out.h5 -batch 4 "${CK[@]}" -restart
  same_output ref.h5 out.h5
  same_datasets ref.h5 out.h5 /cdps_smc
  rm out.h5

  # the comparison can fail: plain C-DPS (no particles) and another threshold give other draws
  dps 1 plain.log run -input in.h5 -samples 16 -steps 40 -seed 3 -run_view 0 -progress 0 -sampler_type cdps -output plain.h5 -batch 7
  differ_datasets ref.h5 plain.h5 /samples
  dps 1 e.log "${RUN[@]}" -cdps_smc_ess 0.3 -output e.h5 -batch 7
  differ_datasets ref.h5 e.h5 /samples
  mkdir $noise && mv ./*.h5 ./*.log $noise/ && cp $noise/in.h5 .
done

echo "PASS: $TEST_NAME"
