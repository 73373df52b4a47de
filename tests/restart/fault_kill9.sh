#!/bin/bash
# restart_fault_kill9: many rounds of kill -9 at random moments (during steps, checkpoint writes and the final
# output write), then restarts until the output exists; every round must end bit-identical to an uninterrupted
# run, with no checkpoint or partial file left, and no file may ever claim to be complete (attribute complete = 1)
# without being exactly that output. The moments come from a seeded shuffle (DPS_FAULT_SEED, DPS_FAULT_ROUNDS):
# named points inside the writes (DPSOLVE_KILL_AT, which a random time seldom hits) and random times, killing the
# whole job (mpiexec and every rank) as a node failure would. Layouts (ranks, batch) change at every restart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SEED=${DPS_FAULT_SEED:-20250611}
ROUNDS=${DPS_FAULT_ROUNDS:-20}
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 1
# (-run_view prints a line just before the work starts: random kill times count from it)
RUN=(run -input in.h5 -output out.h5 -samples 8 -steps 60 -seed 9 -progress 0)
CK=(-checkpoint ck.h5 -checkpoint_every 8)
STARTED="run: in.h5 -> out.h5"
dps 1 ref.log "${RUN[@]}" -output ref.h5 -batch 7
# T: how long the work of an uninterrupted run with checkpoints takes here (its last line says); kills at random
# times fall in [0, 1.1 T] after the run has started its work
dps 1 ref2.log "${RUN[@]}" -output ref2.h5 -batch 2 "${CK[@]}"
T=$(sed -n 's/^wrote ref2.h5: .* in \([0-9.]*\) s (.*$/\1/p' ref2.log)
[ -n "$T" ] || fail "no duration in ref2.log"
same_output ref.h5 ref2.h5

# the plan: one line per round, "np batch kill np2 batch2 kill2", kill = point:count, t:seconds, or - (none)
"$PYTHON" - "$SEED" "$ROUNDS" "$T" >plan.txt <<'EOF'
import random, sys
seed, rounds, T = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(seed)
# every rank takes at least 60 steps (one chunk), so step kills up to 55 always happen
points = ["step:%d" % rng.randint(1, 55) for _ in range(4)] + ["checkpoint-write:%d" % rng.randint(1, 10), "checkpoint-write:1",
          "checkpoint-rename:%d" % rng.randint(1, 10), "checkpoint-link:%d" % rng.randint(2, 10), "output-complete", "output-rename",
          "output-done"]
kills = points + ["t:%.3f" % rng.uniform(0, 1.1 * T) for _ in range(max(rounds - len(points), 0))]
rng.shuffle(kills)
for r in range(rounds):
    second = "t:%.3f" % rng.uniform(0, T) if rng.random() < 0.3 else "-"
    # (mostly 1 rank: an MPI start costs twice a singleton's, and the layouts still change at every restart)
    print(rng.choice([1, 1, 2]), rng.choice([1, 2, 3, 7]), kills[r % len(kills)], rng.choice([1, 2, 1, 3]), rng.choice([1, 2, 4]), second)
EOF
echo "fault plan (seed $SEED; np batch kill | restart np batch kill; uninterrupted run $T s):"
cat plan.txt

# looks complete => is the reference output, for every file that could be mistaken for a result
check_claims() {
  for f in out.h5 out.h5.partial; do
    if [ -e "$f" ] && looks_complete "$f"; then
      same_datasets ref.h5 "$f" "${OUTPUTS[@]}"
    fi
  done
  if [ -e out.h5 ]; then is_complete out.h5 || fail "round $round: out.h5 exists but is not complete"; fi
}

# start NP BATCH KILL LOG args...: one run, killed as KILL says; returns once it is over
start() {
  local np=$1 batch=$2 kill=$3 log=$4 pid sid
  shift 4
  case $kill in
    t:*)
      # its own session, so that the whole job (timeout, mpiexec, every rank) can be killed at once
      if [ "$np" -eq 1 ]; then
        setsid timeout -k 5 "$DPS_CLI_TIMEOUT" "$DPSOLVE" "$@" -batch "$batch" >"$log" 2>&1 &
      else
        setsid timeout -k 5 "$DPS_CLI_TIMEOUT" "$MPIEXEC" -n "$np" "$DPSOLVE" "$@" -batch "$batch" >"$log" 2>&1 &
      fi
      pid=$!
      for _ in $(seq 3000); do
        grep -qF "$STARTED" "$log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
      done
      sleep "${kill#t:}"
      sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ') || true
      if [ -n "$sid" ]; then
        for p in $(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'); do kill -9 "$p" 2>/dev/null || true; done
      fi
      wait "$pid" 2>/dev/null || true
      ;;
    -) launch "$np" "$@" -batch "$batch" >"$log" 2>&1 || { cat "$log" >&2; fail "round $round: dpsolve $* failed"; } ;;
    *) DPSOLVE_KILL_AT=$kill launch "$np" "$@" -batch "$batch" >"$log" 2>&1 || true ;;
  esac
  # a run that was not killed must have succeeded
  if [ "$kill" != - ] && ! grep -q "DPSOLVE_KILL_AT=.* reached" "$log" && grep -q "dpsolve error" "$log"; then
    cat "$log" >&2
    fail "round $round: dpsolve $* failed by itself"
  fi
}

round=0
while read -r np batch kill np2 batch2 kill2 <&3; do
  round=$((round + 1))
  rm -f out.h5 out.h5.partial ck.h5 ck.h5.prev ck.h5.tmp
  start "$np" "$batch" "$kill" r$round-a.log "${RUN[@]}" "${CK[@]}"
  check_claims
  n=0
  while [ ! -e out.h5 ]; do
    n=$((n + 1))
    [ $n -le 4 ] || fail "round $round: no output after 4 restarts"
    if [ -e ck.h5 ] || [ -e ck.h5.prev ]; then
      start "$np2" "$batch2" "$kill2" r$round-b$n.log "${RUN[@]}" "${CK[@]}" -restart
    else
      # killed before its first checkpoint: start again (a stale .partial is simply replaced)
      start "$np2" "$batch2" "$kill2" r$round-b$n.log "${RUN[@]}" "${CK[@]}"
    fi
    kill2=-
    check_claims
  done
  # killed after the output took its name: the restart only removes the checkpoint
  if [ -e ck.h5 ] || [ -e ck.h5.prev ]; then
    dps 1 r$round-c.log "${RUN[@]}" "${CK[@]}" -restart
    expect_in r$round-c.log "out.h5 is already complete: nothing to do"
  fi
  same_output ref.h5 out.h5
  none_of out.h5.partial ck.h5 ck.h5.prev ck.h5.tmp
  echo "round $round: $np ranks batch $batch killed at $kill; $n restarts; identical"
done 3<plan.txt
[ "$round" -eq "$ROUNDS" ] || fail "ran $round rounds of $ROUNDS"
echo "PASS: $TEST_NAME"
