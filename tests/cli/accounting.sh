#!/bin/bash
# cli_accounting: every sampler's cost is visible (issue "sampler suite", item 4): the log's cost lines and the
# output attributes count score evaluations, JVPs, VJPs, CG solves and iterations, against what each method must
# spend per step and draw (docs/samplers.md): N inputs x S draws x steps.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=3 S=4 STEPS=10
dps 1 sim.log simulate -output in.h5 -dx 6 -dy 2 -inputs $N -seed 2
check() { # check NAME STEPS EVALS VJPS SOLVES sampler options...: EVALS, VJPS, SOLVES per draw over the chain
  local name=$1 steps=$2 evals=$3 vjps=$4 solves=$5
  shift 5
  dps 2 "$name.log" run -input in.h5 -output "$name.h5" -samples $S -steps "$steps" -run_view 0 -progress 0 "$@"
  grep -q "^cost: $((evals * N * S)) score evaluations, 0 JVPs, $((vjps * N * S)) VJPs, $((solves * N * S)) CG solves" "$name.log" || fail "$name: cost line: $(grep '^cost' "$name.log")"
  grep -q "^cost per step and draw: " "$name.log" || fail "$name: no per-step cost line"
  "$PYTHON" - "$name.h5" $((N * S)) "$steps" "$evals" "$vjps" "$solves" <<'PY' || fail "$name: attributes"
import sys, h5py
out, draws, steps, evals, vjps, solves = sys.argv[1], *map(int, sys.argv[2:])
a = h5py.File(out).attrs
got = {k: int(a[k]) for k in ("draw_steps", "score_evaluations", "score_jvps", "score_vjps", "cg_solves", "cg_iterations")}
want = {"draw_steps": draws * steps, "score_evaluations": evals * draws, "score_jvps": 0, "score_vjps": vjps * draws, "cg_solves": solves * draws}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
if bad or (solves and got["cg_iterations"] < got["cg_solves"]) or (not solves and got["cg_iterations"]):
    sys.exit(f"{out}: (got, expected) {bad}, cg_iterations {got['cg_iterations']}")
PY
}
# per draw: ddpm one evaluation a step; cdps one solve a step (two with -cdps_solves 2, but one at the last step,
# which has no noise); cadps 1 + K evaluations, a VJP and a measurement-space solve; dps and pigdm a VJP
T=$STEPS
check ddpm $T $T 0 0 -sampler_type ddpm
check cdps $T $T 0 $T -sampler_type cdps
check cdps2 $T $T 0 $((2 * T - 1)) -sampler_type cdps -cdps_solves 2
check cadps $T $((3 * T)) $T $T -sampler_type cadps -cadps_probes 2
check dps $T $T $T 0 -sampler_type dps
check pigdm $T $T $T $T -sampler_type pigdm
check ddrm 5 5 0 0 -sampler_type ddrm
# cadps -cadps_variant released (methods.md section 4, the authors' code; src/samplers/cadps.c): DPS with its
# gradient multiplied by 1 + eps(x_t, t) - eps(x_t, t - 1), so each step evaluates the model twice (at t and at
# the previous training time t - 1, even on the last step, where t - 1 is clamped to 1), takes one VJP (the DPS
# gradient through x0hat) and solves nothing (no measurement-space covariance, no probes): 2 T, T, 0 per draw
check cadps_released $T $((2 * T)) $T 0 -sampler_type cadps -cadps_variant released
