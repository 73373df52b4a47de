#!/bin/bash
# cli_run_fails_on_one_rank: a run on 2 ranks in which only rank 1 fails in the middle of sampling must fail (not
# hang), leave no .partial behind, and leave an existing output untouched even with -force. Regression test: the
# failing rank once closed the file (collective) while the other went on to the batch's collective writes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QUICK=(-samples 4 -steps 20 -batch 1 -run_view 0 -progress 0)
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 0
dps 1 good.log run -input in.h5 -output out.h5 "${QUICK[@]}"
# finite, so the input check accepts it, but the CG solves of input 6 (on rank 1 of 2) overflow to inf
"$PYTHON" - <<'PY'
import shutil, h5py
shutil.copy("in.h5", "huge.h5")
with h5py.File("huge.h5", "r+") as f:
    y = f["y"][...]; y[6, :] = 1e300; f["y"][...] = y
PY
sha256sum out.h5 >before.sum
# on 1 rank the failure is clean
dps_fails 1 fail1.log run -input huge.h5 -output out.h5 "${QUICK[@]}" -force
sha256sum -c --quiet before.sum || fail "a failed run on 1 rank changed out.h5"
[ ! -e out.h5.partial ] || fail "a failed run on 1 rank left out.h5.partial behind"
# on 2 ranks, only rank 1 fails
dps_fails 2 fail2.log run -input huge.h5 -output out.h5 "${QUICK[@]}" -force
expect_error fail2.log
sha256sum -c --quiet before.sum || fail "a failed run on 2 ranks changed out.h5"
[ ! -e out.h5.partial ] || fail "a failed run on 2 ranks left out.h5.partial behind"
echo "PASS: $TEST_NAME"
