# Shared by the sbatch templates of this folder (docs/running-on-slurm.md). Sourced, not run.
#
# Settings (environment; sbatch passes the submitting shell's environment on by default):
#   DPSOLVE_HOME      the dpsolve checkout: configs/ and jobs/ are looked up there (default: the submit directory)
#   DPSOLVE           the program (default: $DPSOLVE_HOME/build/dpsolve)
#   CHECKPOINT_EVERY  reverse steps between checkpoints (default 50)
#   LAUNCH            how ranks are started (default: srun --mpi=pmix; Debian's Open MPI needs pmix, not pmi2)

: "${DPSOLVE_HOME:=${SLURM_SUBMIT_DIR:-$(pwd)}}"
: "${DPSOLVE:=$DPSOLVE_HOME/build/dpsolve}"
: "${CHECKPOINT_EVERY:=50}"
: "${LAUNCH:=srun --mpi=pmix}"

# dps_run_checkpointed OUTPUT CHECKPOINT [dpsolve run options...]
# One `dpsolve run` that continues from CHECKPOINT when there is one. A USR1 (sent by Slurm --signal=B:USR1@T
# before the time limit, or by `scancel --batch --signal=USR1`) is passed on to the run, which checkpoints at its
# next step and exits with status 75; the job is then requeued, and its next start continues the run.
dps_run_checkpointed() {
  local output=$1 ck=$2 pid rc restart=()
  shift 2
  if [ -e "$output" ] && [ ! -e "$ck" ] && [ ! -e "$ck.prev" ]; then
    echo "dpsolve: $output exists and no checkpoint is left: nothing to do"
    return 0
  fi
  if [ -e "$ck" ] || [ -e "$ck.prev" ]; then restart=(-restart); fi
  echo "dpsolve: job ${SLURM_JOB_ID:-?} start ${SLURM_RESTART_COUNT:-0}: ${restart[*]:-fresh run} -> $output"
  # the batch shell gets the signal (B: in --signal); it must not be waiting in the foreground to run the trap
  trap 'echo "dpsolve: USR1 (time limit near): asking the run to checkpoint"; kill -USR1 "$pid" 2>/dev/null' USR1
  $LAUNCH "$DPSOLVE" run -include_path "$DPSOLVE_HOME" -output "$output" -checkpoint "$ck" \
    -checkpoint_every "$CHECKPOINT_EVERY" "${restart[@]}" "$@" &
  pid=$!
  # a trap interrupts wait (status > 128): wait again until the run has ended; the last wait gives its status
  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
  wait "$pid"
  rc=$?
  trap - USR1
  if [ "$rc" -eq 75 ]; then
    echo "dpsolve: the run stopped at a checkpoint (exit 75): requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
    return 0
  fi
  echo "dpsolve: the run ended with status $rc"
  return "$rc"
}
