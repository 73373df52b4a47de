#!/bin/bash
# restart_exit_status: every failure exits with one of the documented statuses (docs/running-on-slurm.md, "Signals and
# the exit status"), and 75, the status that makes slurm/lib.sh requeue a job, only for a run stopped by a signal after a
# checkpoint or before it wrote anything. A signal at any moment of the set-up, even before MPI starts, is
# answered: the run stops with 75 and nothing written, and the requeued command (-restart, no checkpoint yet)
# starts afresh and gives the bits of an uninterrupted run. Before (issue 9): a refused restart exited 75 (PETSc's
# PETSC_ERR_ARG_INCOMP), every error its PETSc number, and a signal during the set-up killed the run (143/138).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUN=(run -input in.h5 -output out.h5 -samples 4 -steps 20 -seed 3 -run_view 0 -progress 0 -batch 2)
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0
dps 1 ref.log "${RUN[@]}" -output ref.h5
"$PYTHON" - <<'EOF'
import shutil, h5py, numpy as np
shutil.copy("in.h5", "nan.h5")
with h5py.File("nan.h5", "r+") as f:
    y = f["y"][...]; y[4, 0] = np.nan; f["y"][...] = y
EOF

status() { # status CASE NP WANT args...: the command exits with WANT and prints an error message
  local case=$1 np=$2 want=$3 rc
  shift 3
  rc=$(rc_of "$np" "$case.log" "$@")
  hung "$rc" "$np" "$@"
  [ "$rc" = "$want" ] || { cat "$case.log" >&2; fail "$case: exit status $rc, expected $want"; }
}

# 64: the command is wrong (an unknown, ill-typed or out-of-range option, two options naming one file, a restart
# whose options differ from the checkpoint's)
status usage 1 64 "${RUN[@]}" -samplr_type cdps
status illtyped 2 64 "${RUN[@]}" -samples abc
status range 1 64 "${RUN[@]}" -seed 99999999999999999999
expect_in range.log "-seed 99999999999999999999: out of range"
status range2 1 64 "${RUN[@]}" -samples 2147483648
expect_in range2.log "-samples 2147483648: out of range"
status alias 1 64 "${RUN[@]}" -output in.h5 -force
status verb 1 64 frobnicate
killed 1 k.log step:30 "${RUN[@]}" -checkpoint ck.h5 -checkpoint_every 10
status changed 1 64 "${RUN[@]}" -checkpoint ck.h5 -restart -steps 30
expect_in changed.log "-steps"
status changed2 2 64 "${RUN[@]}" -checkpoint ck.h5 -restart -seed 4
# 65: an input holds bad data (a NaN on rank 1's shard)
status nan 2 65 "${RUN[@]}" -input nan.h5
# 66: an input file is missing
status noinput 1 66 "${RUN[@]}" -input nosuch.h5
# 70: anything else, e.g. a solve that fails (one CG iteration, and an error if not converged)
status solve 1 70 "${RUN[@]}" -mean_ksp_max_it 1 -mean_ksp_error_if_not_converged -output s.h5
# 73: an output or checkpoint that must not be replaced
status exists 1 73 "${RUN[@]}" -output ref.h5
status ckexists 1 73 "${RUN[@]}" -checkpoint ck.h5
# 74 (a full disk) is tested by restart_disk_full

# 75 after a checkpoint: SIGUSR1 at a step, then the restart gives the uninterrupted run's bits
rm -f out.h5 out.h5.partial ck.h5 ck.h5.prev
sha256sum in.h5 ref.h5 >before.sum
DPSOLVE_KILL_AT=step:7:USR1 status usr1 2 75 "${RUN[@]}" -checkpoint ck.h5
expect_in usr1.log "after a checkpoint"
dps 2 usr1r.log "${RUN[@]}" -checkpoint ck.h5 -restart
same_output ref.h5 out.h5

# 75 with nothing written: SIGTERM before MPI starts, and SIGTERM while the run is set up; with a checkpoint and
# without, on 1 and 2 ranks
for point in main setup; do
  for np in 1 2; do
    for ck in with without; do
      c=$point-$np-$ck
      rm -f out.h5 out.h5.partial ck.h5 ck.h5.prev
      opts=()
      [ "$ck" = with ] && opts=(-checkpoint ck.h5 -checkpoint_every 5)
      DPSOLVE_KILL_AT=$point:1:TERM status "$c" "$np" 75 "${RUN[@]}" "${opts[@]}"
      expect_in "$c.log" "during the set-up, before anything was written"
      none_of out.h5 out.h5.partial ck.h5 ck.h5.prev ck.h5.tmp
      sha256sum -c --quiet before.sum || fail "$c: a signal during the set-up changed the files"
      # the requeued command: with the checkpoint option it says -restart (there is no checkpoint yet)
      restart=()
      [ "$ck" = with ] && restart=(-restart)
      dps "$np" "$c-r.log" "${RUN[@]}" "${opts[@]}" "${restart[@]}"
      same_output ref.h5 out.h5
    done
  done
done
echo "PASS: $TEST_NAME"
