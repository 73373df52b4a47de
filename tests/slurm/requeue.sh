#!/bin/bash
# slurm_requeue_resume: a real one-node Slurm cluster (cluster.sh) runs slurm/requeue.sbatch with
# jobs/gmm-benchmark.yaml; mid-run the batch script gets USR1 (as --signal=B:USR1@T sends before the time limit),
# the run checkpoints and exits 75, the job requeues itself, starts again (StartTime=now instead of the 2-minute
# wait) and continues from the checkpoint: the output equals an uninterrupted run bit for bit. Then
# slurm/array.sbatch splits the data set over a 2-task job array, and slurm/merge.py joins the parts into that
# same output.
set -euo pipefail
source "$(dirname "$0")/../restart/lib.sh"
SRC=${5:?usage: requeue.sh DPSOLVE MPIEXEC PYTHON H5DIFF SOURCE_DIR}
source "$(dirname "$0")/cluster.sh"
chmod 755 "$WORK" # the jobs run as root too, but slurmd and munged look at the folders
trap 'cluster_stop; cd /; rm -rf "$WORK"' EXIT
t0=$(date +%s)
cluster_start "$WORK/cluster"
echo "cluster up in $(($(date +%s) - t0)) s"

export DPSOLVE_HOME=$SRC DPSOLVE
JOB=$SRC/jobs/gmm-benchmark.yaml
export EXTRA="-samples 16 -steps 250 -batch 1"
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 6 -seed 4
# shellcheck disable=SC2086
dps 2 ref.log run -options_file_yaml "$JOB" -include_path "$SRC" -input in.h5 -output ref.h5 $EXTRA -progress 0 -run_view 0

state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_state() { # wait_state JOB STATE SECONDS
  for _ in $(seq $(($3 * 10))); do
    [ "$(state "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  cat ./*.log >&2
  # why slurm thinks so: the job record and the daemons' last lines
  scontrol show job "$1" >&2 || true
  tail -n 20 "$CLUSTER/log/slurmctld.log" "$CLUSTER/log/slurmd.log" >&2 || true
  fail "job $1 did not reach $2 in $3 s (state $(state "$1"))"
}

# --- (c) requeue on the time limit, resume from the checkpoint ---
export INPUT=$WORK/in.h5 OUTPUT=$WORK/out.h5 JOB CHECKPOINT_EVERY=25
# both ranks hold at their 20th step until the signal comes (DpsKillPoint's HOLD): a fast machine ran all six
# inputs in 0.15 s, before a signal sent on the first progress line arrived; the hold file is removed before
# the signal so that the requeued start does not hold again
touch hold
id=$(DPSOLVE_KILL_AT="step:20:HOLD:$WORK/hold" sbatch --parsable --chdir="$WORK" --output="$WORK/job.log" "$SRC/slurm/requeue.sbatch")
holding() { grep -c "holds until a signal arrives" job.log 2>/dev/null || true; }
for _ in $(seq 300); do [ "$(holding)" -ge 2 ] && break; sleep 0.1; done
[ "$(holding)" -ge 2 ] || { cat job.log >&2; fail "job $id: its two ranks did not reach their 20th step in 30 s"; }
rm hold
scancel --batch --signal=USR1 "$id"
wait_state "$id" PENDING 30
expect_in job.log "dpsolve: USR1 (time limit near): asking the run to checkpoint" "stopped by signal 10 after a checkpoint" \
  "the run stopped at a checkpoint (exit 75): requeueing job $id"
[ -e out.h5.checkpoint.h5 ] && [ -e out.h5.partial ] || fail "no checkpoint or partial output after the requeue"
! looks_complete out.h5.partial || fail "out.h5.partial claims to be complete"
# a requeued job waits 2 minutes for its begin time; the test does not, but it lets the node finish cleaning up
# after the first start (state "completing") before it lets the job go again: started at once on a loaded
# machine, the second start could fail in slurmd (CI saw it FAILED with no line of output)
for _ in $(seq 300); do sinfo -h -o %T 2>/dev/null | grep -qE '^idle$' && break; sleep 0.1; done
scontrol update JobId="$id" StartTime=now
wait_state "$id" COMPLETED 60
expect_in job.log "dpsolve: job $id start 1: -restart -> $WORK/out.h5" "restart from $WORK/out.h5.checkpoint.h5: " \
  "wrote $WORK/out.h5: 6 inputs x 16 draws" "the run ended with status 0"
same_output ref.h5 out.h5
none_of out.h5.checkpoint.h5 out.h5.checkpoint.h5.prev out.h5.partial
echo "requeue and resume: identical ($(($(date +%s) - t0)) s)"

# --- (b) a job array over a split data set, joined into the output of one run ---
export OUTDIR=$WORK/parts
id=$(sbatch --parsable --chdir="$WORK" --array=0-1 --output="$WORK/array-%a.log" "$SRC/slurm/array.sbatch")
wait_state "${id}_0" COMPLETED 60
wait_state "${id}_1" COMPLETED 60
expect_in array-0.log "wrote $WORK/parts/part-0.h5: 3 inputs x 16 draws"
expect_in array-1.log "wrote $WORK/parts/part-1.h5: 3 inputs x 16 draws"
"$PYTHON" "$SRC/slurm/merge.py" -o merged.h5 parts/part-1.h5 parts/part-0.h5 >merge.log 2>&1 || { cat merge.log >&2; fail "merge.py failed"; }
same_output ref.h5 merged.h5
echo "array split and merge: identical ($(($(date +%s) - t0)) s)"
echo "PASS: $TEST_NAME"
