#!/bin/bash
# restart_refused: a restart with other options or data than the checkpointed run is refused with a message naming
# the difference and both values, and touches nothing; a damaged or truncated checkpoint is detected, and the
# previous one is used (same final bits) or, when both are damaged, a clear error is given.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0
RUN=(run -input in.h5 -output out.h5 -samples 8 -steps 40 -seed 3 -run_view 0 -progress 0 -batch 2)
CK=(-checkpoint ck.h5 -checkpoint_every 10)
dps 1 ref.log "${RUN[@]}" -output ref.h5
killed 1 k.log step:75 "${RUN[@]}" "${CK[@]}"

# the files that matter and the names in the folder (logs and these sums aside)
state() { sha256sum ck.h5 ck.h5.prev out.h5.partial; ls -1 | grep -v -e '\.log$' -e '\.sum$'; }
state >before.sum
refused() { # refused CASE expected-strings -- options...: fails with an error holding every string, nothing changes
  local case=$1
  shift
  local want=()
  while [ "$1" != -- ]; do
    want+=("$1")
    shift
  done
  shift
  dps_fails 1 "$case.log" "${RUN[@]}" "${CK[@]}" -restart "$@"
  expect_error "$case.log"
  expect_in "$case.log" "${want[@]}"
  state >after.sum
  diff before.sum after.sum >&2 || fail "$case: a refused restart changed the files (above: < before, > after)"
}

# --- the identity of the run: every option or datum the results depend on ---
refused steps "ck.h5 was made with -steps = 40, but this run has -steps = 30" -- -steps 30
refused seed "ck.h5 was made with -seed = 3, but this run has -seed = 4" -- -seed 4
refused samples "ck.h5 was made with -samples = 8, but this run has -samples = 4" -- -samples 4
refused sampler "ck.h5 was made with -sampler_type = cdps, but this run has -sampler_type = ddpm" -- -sampler_type ddpm
refused coupling "ck.h5 was made with -cdps_coupling = (not set), but this run has -cdps_coupling = independent" -- -cdps_coupling independent
refused rtol "ck.h5 was made with -mean_ksp_rtol = (not set), but this run has -mean_ksp_rtol = 1e-3" -- -mean_ksp_rtol 1e-3
refused train "-schedule_train_steps = (not set), but this run has -schedule_train_steps = 500" -- -schedule_train_steps 500
refused message "Restart with the options of the checkpointed run, or start afresh without -restart" -- -steps 30
# the same options over other data: one value of /y changed
"$PYTHON" - <<'EOF'
import shutil, h5py
shutil.copy("in.h5", "other.h5")
with h5py.File("other.h5", "r+") as f:
    y = f["y"][...]; y[3, 1] += 1e-9; f["y"][...] = y
EOF
state >before.sum
refused data "ck.h5 was made with input data (checksum) = " "but this run has input data (checksum) = " -- -input other.h5
# (options that do not change results may differ: where the data are, the batch; see the restarts below)
cp in.h5 moved.h5
state >before.sum

# --- starting afresh over a checkpoint needs -force; -restart without a checkpoint is tests/cli/file_safety.sh ---
dps_fails 1 fresh.log "${RUN[@]}" "${CK[@]}"
expect_in fresh.log "checkpoint ck.h5 exists: continue that run with -restart, or pass -force to start afresh"
dps_fails 1 noopt.log "${RUN[@]}" -restart
expect_in noopt.log "-restart, -checkpoint_every and -checkpoint_interval need -checkpoint <file.h5>"
dps_fails 1 nodir.log "${RUN[@]}" -checkpoint nodir/ck.h5 -output new.h5
expect_in nodir.log "cannot write the checkpoint nodir/ck.h5: its directory nodir: No such file or directory"
state >after.sum
diff before.sum after.sum >&2 || fail "a refused start changed the files"

# --- damaged checkpoints: keep pristine copies, damage, restart from the previous one ---
cp ck.h5 good.h5
cp ck.h5.prev goodprev.h5
cp out.h5.partial goodpartial.h5
restore() { cp good.h5 ck.h5; cp goodprev.h5 ck.h5.prev; cp goodpartial.h5 out.h5.partial; rm -f out.h5; }
flip() { # flip FILE DATASET: change one byte of the dataset's stored values (HDF5 itself cannot notice)
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys, h5py
name, dset = sys.argv[1:]
with h5py.File(name, "r") as f:
    off = f[dset].id.get_offset()
with open(name, "r+b") as g:
    g.seek(off + 5); b = g.read(1); g.seek(off + 5); g.write(bytes([b[0] ^ 0x10]))
EOF
}
# a flipped bit in the draws in flight: the checksum finds it, the previous checkpoint is used
flip ck.h5 /flight/x
dps 1 flip.log "${RUN[@]}" "${CK[@]}" -restart -batch 3 -input moved.h5 -progress 1
expect_in flip.log "dpsolve warning: checkpoint ck.h5 is unusable (dataset /flight/x does not match its checksum (damaged)); restarting from the previous one, ck.h5.prev"
same_output ref.h5 out.h5
# a flipped bit in the progress
restore
flip ck.h5 /progress
dps 1 flip2.log "${RUN[@]}" "${CK[@]}" -restart
expect_in flip2.log "checkpoint ck.h5 is unusable (dataset /progress does not match its checksum (damaged))"
same_output ref.h5 out.h5
# truncated (a disk that filled up, a copy cut short)
restore
head -c 3000 good.h5 >ck.h5
dps 1 trunc.log "${RUN[@]}" "${CK[@]}" -restart
expect_in trunc.log "checkpoint ck.h5 is unusable (not a readable HDF5 file (truncated or overwritten?)); restarting from the previous one"
same_output ref.h5 out.h5
# both damaged: a clear error, nothing touched
restore
head -c 3000 good.h5 >ck.h5
echo "not HDF5" >ck.h5.prev
state >before.sum
dps_fails 1 both.log "${RUN[@]}" "${CK[@]}" -restart
expect_error both.log
expect_in both.log "cannot restart: no usable checkpoint: ck.h5: not a readable HDF5 file (truncated or overwritten?); ck.h5.prev: not a readable HDF5 file" "Start afresh without -restart"
state >after.sum
diff before.sum after.sum >&2 || fail "a restart from damaged checkpoints changed the files"
# a checkpoint that was being written when the run died (no completion mark) is not used either
restore
"$PYTHON" - <<'EOF'
import h5py
with h5py.File("ck.h5", "r+") as f:
    del f.attrs["complete"]
EOF
dps 1 incomplete.log "${RUN[@]}" "${CK[@]}" -restart
expect_in incomplete.log "checkpoint ck.h5 is unusable (incomplete: the run stopped while writing it)"
same_output ref.h5 out.h5

# --- a partial output of another run is not trusted: its inputs are computed again ---
restore
"$PYTHON" - <<'EOF'
import h5py
with h5py.File("out.h5.partial", "r+") as f:
    f.attrs["run_id"] = 12345
EOF
dps 1 other.log "${RUN[@]}" "${CK[@]}" -restart
expect_in other.log "out.h5.partial belongs to another run; the 2 inputs it should hold are computed again"
same_output ref.h5 out.h5

# --- with -force a fresh run replaces the checkpoint ---
restore
rm out.h5.partial
dps 1 force.log "${RUN[@]}" "${CK[@]}" -force -output forced.h5
same_output ref.h5 forced.h5
none_of ck.h5 ck.h5.prev

echo "PASS: $TEST_NAME"
