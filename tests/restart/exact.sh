#!/bin/bash
# restart_exact: a run stopped anywhere (killed at a step, while writing a checkpoint or the output, or by
# SIGTERM/SIGUSR1) and continued with -restart, on another number of ranks and batch size, ends with the output of
# an uninterrupted run, bit for bit (methods.md section 9); inputs already done are not recomputed; the output is
# never left looking complete when it is not.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 0
RUN=(run -input in.h5 -samples 8 -steps 40 -seed 3 -run_view 0 -progress 0)
CK=(-checkpoint ck.h5 -checkpoint_every 10)
dps 2 ref.log "${RUN[@]}" -output ref.h5 -batch 3
is_complete ref.h5 || fail "an uninterrupted run is not marked complete"

# --- 1. killed at a step (2 ranks, batch 3), continued on 1 rank with batch 2 ---
killed 2 k1.log step:23 "${RUN[@]}" -output out.h5 -batch 3 "${CK[@]}"
[ -e ck.h5 ] && [ -e ck.h5.prev ] && [ -e out.h5.partial ] || fail "a killed run left no checkpoint (ck.h5, ck.h5.prev) or no out.h5.partial"
none_of out.h5
! looks_complete out.h5.partial || fail "out.h5.partial claims to be complete after a kill in the middle"
dps 1 r1.log "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}" -restart
# steps 40..21 of inputs 0-2 and 4-6 were checkpointed at tick 20: 6 in flight, none done
expect_in r1.log "restart from ck.h5: 0 of 7 inputs done, 6 in flight"
same_output ref.h5 out.h5
none_of ck.h5 ck.h5.prev ck.h5.tmp out.h5.partial
rm out.h5

# --- 2. chained: 1 rank batch 2 killed; 3 ranks batch 1 killed again; 2 ranks batch 4 finishes ---
killed 1 k2.log step:97 "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}"
killed 3 k3.log step:17 "${RUN[@]}" -output out.h5 -batch 1 "${CK[@]}" -restart
expect_in k3.log "restart from ck.h5: 4 of 7 inputs done, 2 in flight"
dps 2 r3.log "${RUN[@]}" -output out.h5 -batch 4 "${CK[@]}" -restart
same_output ref.h5 out.h5
# the cost counters are carried through the checkpoints: the same work as the uninterrupted run
for c in score_evaluations cg_solves cg_iterations; do
  [ "$(attr out.h5 $c)" = "$(attr ref.h5 $c)" ] || fail "attribute $c: $(attr out.h5 $c) after restarts, $(attr ref.h5 $c) uninterrupted"
done
rm out.h5

# --- 3. inputs done are not recomputed: a restart after all but one input is done takes 1 input's steps ---
killed 1 k4.log step:255 "${RUN[@]}" -output out.h5 -batch 1 "${CK[@]}"
dps 1 r4.log "${RUN[@]}" -output out.h5 -batch 1 "${CK[@]}" -restart
expect_in r4.log "restart from ck.h5: 6 of 7 inputs done, 1 in flight"
same_output ref.h5 out.h5
rm out.h5

# --- 4. other samplers: ddpm (no state beyond x) and dps (gradients of the model) ---
for s in ddpm dps; do
  dps 1 ref-$s.log "${RUN[@]}" -output ref-$s.h5 -sampler_type $s -batch 7
  killed 1 k-$s.log step:61 "${RUN[@]}" -output out-$s.h5 -sampler_type $s -batch 2 "${CK[@]}"
  dps 2 r-$s.log "${RUN[@]}" -output out-$s.h5 -sampler_type $s -batch 3 "${CK[@]}" -restart
  same_output ref-$s.h5 out-$s.h5
done
differ_datasets ref.h5 ref-ddpm.h5 /samples

# --- 4b. the C-DPS x0 form with the covariance-aware r_t^2 (no state beyond x; probe and re-noising streams) ---
X0=(-sampler_type cdps -cdps_space x0 -cdps_x0_variance cadps)
dps 1 ref-x0.log "${RUN[@]}" -output ref-x0.h5 "${X0[@]}" -batch 7
killed 1 k-x0.log step:61 "${RUN[@]}" -output out-x0.h5 "${X0[@]}" -batch 2 "${CK[@]}"
dps 2 r-x0.log "${RUN[@]}" -output out-x0.h5 "${X0[@]}" -batch 3 "${CK[@]}" -restart
same_output ref-x0.h5 out-x0.h5
differ_datasets ref.h5 ref-x0.h5 /samples

# --- 5. killed while writing a checkpoint or the output ---
# (2 ranks where all write together, 1 where rank 0 works alone)
for case in 2:checkpoint-write:3 1:checkpoint-rename:2 1:checkpoint-link:4 2:output-complete 1:output-rename; do
  np=${case%%:*} point=${case#*:}
  killed "$np" kp.log "$point" "${RUN[@]}" -output out.h5 -batch 3 "${CK[@]}"
  # the output never takes its name before it is complete
  none_of out.h5
  dps 1 rp.log "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}" -restart
  same_output ref.h5 out.h5
  none_of ck.h5 ck.h5.prev ck.h5.tmp out.h5.partial
  rm out.h5
done
# killed after the output took its name, before the checkpoint was removed: the restart has nothing to do
killed 1 kd.log output-done "${RUN[@]}" -output out.h5 -batch 3 "${CK[@]}"
same_output ref.h5 out.h5
sha256sum out.h5 >out.sum
dps 1 rd.log "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}" -restart
expect_in rd.log "out.h5 is already complete: nothing to do"
sha256sum -c --quiet out.sum || fail "a restart of a finished run changed out.h5"
none_of ck.h5 ck.h5.prev
rm out.h5

# --- 6. the partial output is gone: the inputs it held are computed again (same bits), with a warning ---
killed 1 k6.log step:130 "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}"
rm out.h5.partial
dps 1 r6.log "${RUN[@]}" -output out.h5 -batch 2 "${CK[@]}" -restart
expect_in r6.log "out.h5.partial not found; the 6 inputs it should hold are computed again"
same_output ref.h5 out.h5
rm out.h5

# --- 7. signals: SIGTERM to the program, SIGUSR1 to mpiexec; the run checkpoints and exits with status 75 ---
LONG=(run -input in.h5 -samples 16 -steps 300 -seed 5 -run_view 0 -batch 1)
dps 2 refl.log "${LONG[@]}" -output refl.h5 -progress 0
signal_mid_run() { # signal_mid_run SIGNAL NP LOG args...: signal while every rank holds at its 40th step; print the exit status
  local sig=$1 np=$2 log=$3 pid rc=0 held=0
  shift 3
  # a hold, not a wait for the first progress line: a fast machine can finish the run before the signal arrives
  touch hold
  DPSOLVE_KILL_AT="step:40:HOLD:$WORK/hold" launch "$np" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    held=$(grep -c "holds until a signal arrives" "$log" || true)
    [ "$held" -ge "$np" ] && break
    sleep 0.05
  done
  [ "$held" -ge "$np" ] || fail "the $np ranks did not reach their 40th step within 30 s ($log)"
  rm hold
  # the background job runs timeout, whose child is the program (1 rank) or mpiexec: signal that child
  local tpid prog
  tpid=$(pgrep -P "$pid" -x timeout) || fail "cannot find the timeout process of job $pid"
  prog=$(pgrep -P "$tpid") || fail "cannot find the program under timeout $tpid"
  kill -"$sig" "$prog"
  wait "$pid" || rc=$?
  echo "$rc"
}
rc=$(signal_mid_run TERM 1 s1.log "${LONG[@]}" -output outl.h5 -checkpoint ckl.h5)
[ "$rc" = 75 ] || { cat s1.log >&2; fail "SIGTERM: exit status $rc, expected 75"; }
expect_in s1.log "stopped by signal 15 after a checkpoint" "continue with -restart (exit status 75)"
[ -e ckl.h5 ] && [ -e outl.h5.partial ] || fail "SIGTERM: no checkpoint or no partial output"
! looks_complete outl.h5.partial || fail "SIGTERM: outl.h5.partial claims to be complete"
rc=$(signal_mid_run USR1 2 s2.log "${LONG[@]}" -output outl.h5 -checkpoint ckl.h5 -restart)
[ "$rc" = 75 ] || { cat s2.log >&2; fail "SIGUSR1 to mpiexec: exit status $rc, expected 75"; }
expect_in s2.log "stopped by signal 10 after a checkpoint"
dps 1 s3.log "${LONG[@]}" -output outl.h5 -checkpoint ckl.h5 -restart -progress 0
same_output refl.h5 outl.h5
none_of ckl.h5 ckl.h5.prev outl.h5.partial

echo "PASS: $TEST_NAME"
