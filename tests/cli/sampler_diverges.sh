#!/bin/bash
# cli_sampler_diverges: a diverged draw is an error, never an output (issue 10, item 1; docs/samplers.md).
#  - a NaN put into draw 1 of input 2 after step 5 (the test aid DPSOLVE_NAN_AT, as a diverging sampler would):
#    exit 70, the message names the sampler, the input, the draw and the step; no output and no .partial, on 1 and
#    2 ranks; an existing output replaced with -force is left as it was, and the input file is unchanged;
#    with -checkpoint, the checkpoint never calls input 2 done;
#  - a sampler made to diverge for real (dps with -dps_zeta 1e300) stops the same way;
#  - data_range: final draws more than 100 widths outside it are counted (draws_out_of_range, equal to the count
#    found here in /samples) with a warning naming each such input; the range is copied to the output;
#  - a data_range that is not two finite numbers lo < hi is refused (exit 65) naming the file and the attribute.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 4 -seed 3
run=(run -input in.h5 -steps 10 -samples 2 -batch 1 -progress 0 -run_view 0)
dps 1 good.log "${run[@]}" -output out.h5
sums() { md5sum in.h5 out.h5; }
before=$(sums)

expect_status() { # expect_status LOG STATUS NP args...
  local log=$1 want=$2 np=$3 rc=0
  shift 3
  DPSOLVE_NAN_AT=${NAN_AT:-} launch "$np" "$@" >"$log" 2>&1 || rc=$?
  hung "$rc" "$np" "$@"
  [ "$rc" -eq "$want" ] || { cat "$log" >&2; fail "dpsolve $* (on $np ranks): exit $rc, expected $want"; }
}

NAN_AT=2:1:5 expect_status nan1.log 70 1 "${run[@]}" -output out.h5 -force
expect_in nan1.log "sampler cdps: input 2, draw 1, step 5 (t = " "non-finite value"
[ "$(sums)" = "$before" ] || fail "a failed run changed in.h5 or the output it was to replace"
[ ! -e out.h5.partial ] || fail "a failed run left out.h5.partial"

NAN_AT=2:1:5 expect_status nan2.log 70 2 "${run[@]}" -output new.h5
expect_in nan2.log "sampler cdps: input 2, draw 1, step 5"
[ ! -e new.h5 ] && [ ! -e new.h5.partial ] || fail "a failed run on 2 ranks left new.h5 or new.h5.partial"

# with a checkpoint every step: inputs 0 and 1 are done before input 2 fails; the checkpoint says so, never that
# input 2 is done
NAN_AT=2:1:5 expect_status nanck.log 70 1 "${run[@]}" -output ck-out.h5 -checkpoint ck.h5 -checkpoint_every 1
expect_in nanck.log "sampler cdps: input 2, draw 1, step 5"
[ ! -e ck-out.h5 ] || fail "a failed run with a checkpoint wrote ck-out.h5"
"$PYTHON" - <<'PY'
import sys, h5py
with h5py.File("ck.h5", "r") as f:
    p = f["progress"][...]
if p[2] == 0:
    sys.exit(f"the checkpoint calls input 2 done after it failed: progress {p}")
PY

# a sampler that diverges by itself
NAN_AT= expect_status zeta.log 70 1 "${run[@]}" -output zeta.h5 -sampler_type dps -dps_zeta 1e300
expect_in zeta.log "sampler dps: input 0, draw" "non-finite value"
[ ! -e zeta.h5 ] && [ ! -e zeta.h5.partial ] || fail "a diverged dps run left zeta.h5 or its .partial"

# a declared range the draws leave by far: the Gaussian-mixture draws lie at +-16, the range is [-0.01, 0.01]
"$PYTHON" - <<'PY'
import shutil, h5py, numpy as np
for name, value in (("range", [-0.01, 0.01]), ("reversed", [1.0, -1.0]), ("nan", [np.nan, 1.0]), ("three", [-1.0, 0.0, 1.0])):
    shutil.copy("in.h5", f"in-{name}.h5")
    with h5py.File(f"in-{name}.h5", "a") as f:
        f.attrs["data_range"] = np.array(value, dtype=np.float64)
PY
dps 1 far.log "${run[@]}" -input in-range.h5 -output far.h5 -clip_x0hat false
expect_in far.log "dpsolve warning: sampler cdps, input 0:" "draws end more than 100 range widths outside the data range [-0.01, 0.01]"
"$PYTHON" - <<'PY'
import sys, h5py, numpy as np
with h5py.File("far.h5", "r") as f:
    x = f["samples"][...]
    got, rng = int(f.attrs["draws_out_of_range"]), f.attrs["data_range"]
want = int(np.any((x < -2.01) | (x > 2.01), axis=2).sum())
if list(rng) != [-0.01, 0.01]:
    sys.exit(f"data_range not copied to the output: {rng}")
if want == 0 or got != want:
    sys.exit(f"draws_out_of_range {got}, but {want} draws lie more than 100 widths outside [-0.01, 0.01]")
PY

expect_status reversed.log 65 1 "${run[@]}" -input in-reversed.h5 -output bad.h5
expect_in reversed.log "in-reversed.h5: attribute data_range = [1., -1.] must be finite with lo < hi"
expect_status nan.log 65 1 "${run[@]}" -input in-nan.h5 -output bad.h5
expect_in nan.log "in-nan.h5: attribute data_range = [nan., 1.]"
expect_status three.log 65 1 "${run[@]}" -input in-three.h5 -output bad.h5
expect_in three.log "in-three.h5: attribute data_range must be two numbers [lo, hi]"
[ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "a refused input left bad.h5 or its .partial"
echo "cli_sampler_diverges: all checks passed"
