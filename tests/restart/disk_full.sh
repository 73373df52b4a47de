#!/bin/bash
# restart_disk_full: a full disk (tests/restart/enospc.c, preloaded: writes to the named file fail with ENOSPC
# after DPS_ENOSPC_AFTER bytes) fails the run with a message naming the file and "No space left on device",
# leaves no <output>.partial and no <checkpoint>.tmp, and leaves an existing output (-force) and the previous
# checkpoint bit for bit as they were. Before: "cannot create dataset /samples", with the .partial left behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LIB=${DPS_ENOSPC_LIB:?the test needs DPS_ENOSPC_LIB, the interposer built from tests/restart/enospc.c}

RUN=(run -input in.h5 -output out.h5 -samples 4 -steps 20 -seed 3 -run_view 0 -progress 0 -batch 2)
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0
dps 1 first.log "${RUN[@]}"
# a checkpoint of an interrupted run: ck.h5 and ck.h5.prev (and other.h5.partial, which its restart continues)
killed 1 k.log step:30 "${RUN[@]}" -output other.h5 -checkpoint ck.h5 -checkpoint_every 10
sha256sum out.h5 ck.h5 ck.h5.prev in.h5 >before.sum

full() { # full CASE NP FILE BYTES args...: the run fails on a full disk for FILE, nothing is left or changed
  local case=$1 np=$2 file=$3 bytes=$4
  shift 4
  local rc
  rc=$(DPS_ENOSPC_PATH=$file DPS_ENOSPC_AFTER=$bytes LD_PRELOAD=$LIB rc_of "$np" "$case.log" "$@")
  # EX_IOERR (docs/running-on-slurm.md, exit statuses), never 75: a requeue would fail again
  [ "$rc" = 74 ] || { cat "$case.log" >&2; fail "$case: exit status $rc, expected 74 (an I/O error)"; }
  expect_error "$case.log"
  expect_in "$case.log" "$file" "No space left on device"
  sha256sum -c --quiet before.sum || fail "$case: a run on a full disk changed the files above"
  none_of out.h5.partial new.h5.partial ck.h5.tmp ck2.h5.tmp
}

# the output, when it is created (its datasets are allocated and zero-filled at once) and later, on 1 and 2 ranks
full create 1 out.h5.partial 0 "${RUN[@]}" -force
full rows 1 out.h5.partial 20000 "${RUN[@]}" -force
full create2 2 out.h5.partial 0 "${RUN[@]}" -force
# the checkpoint: the first write, and a later one (the run continues the checkpointed run)
full ckfirst 1 ck2.h5.tmp 0 "${RUN[@]}" -output new.h5 -checkpoint ck2.h5 -checkpoint_every 5 -force
full cklater 1 ck.h5.tmp 0 "${RUN[@]}" -output other.h5 -checkpoint ck.h5 -checkpoint_every 5 -restart
echo "PASS: $TEST_NAME"
