#!/bin/bash
# run_under_load: thousands of small inputs on 2 ranks, with checkpoints: every input is written exactly once
# (the run counts the rows it writes; /done and /samples cover every input), the peak memory stops growing once
# the run is under way (the log's progress lines carry it; one chunk per input must not mean memory per input),
# and the log shows progress, rate and ETA. Prints the numbers of the issue's item 7.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DPS_CLI_TIMEOUT=200

N=${DPS_LOAD_INPUTS:-10000}
dps 1 sim.log simulate -output in.h5 -dx 4 -dy 1 -inputs "$N" -seed 2
t0=$(date +%s.%N)
dps 2 run.log run -input in.h5 -output out.h5 -samples 4 -steps 20 -batch 16 -seed 1 -run_view 0 -checkpoint ck.h5 -checkpoint_every 100
t1=$(date +%s.%N)
cat run.log
expect_in run.log "wrote out.h5: $N inputs x 4 draws in " "($N written by this run; peak memory "
none_of ck.h5 ck.h5.prev out.h5.partial
is_complete out.h5 || fail "out.h5 is not complete"

"$PYTHON" - "$N" <<'PY'
import re, sys, h5py, numpy as np
N = int(sys.argv[1])
errors = []
with h5py.File("out.h5", "r") as f, h5py.File("in.h5", "r") as fin:
    x = f["samples"][...]
    if x.shape != (N, 4, 4): errors.append(f"/samples has shape {x.shape}")
    if not np.all(np.isfinite(x)): errors.append("/samples is not finite")
    # an input never written would hold the fill value 0 in every entry
    unwritten = np.where(np.all(x.reshape(N, -1) == 0, axis=1))[0]
    if len(unwritten): errors.append(f"inputs {unwritten[:10]} were never written")
    if not np.all(f["done"][...] == 1): errors.append("/done is not all 1")
    if not np.array_equal(f["y"][...], fin["y"][...]): errors.append("/y differs from the input's")
# progress lines: input counts increasing up to N, a rate, an ETA, the peak memory
lines = [l for l in open("run.log") if l.startswith("progress: ")]
pat = re.compile(r"progress: (\d+)/(\d+) inputs, ([0-9.e+-]+) inputs/s \(.* s per input\), ETA ([0-9.]+) s, peak memory ([0-9.]+) MiB")
rows = [pat.match(l) for l in lines]
if len(lines) < 3 or not all(rows):
    errors.append(f"expected at least 3 progress lines with rate, ETA and memory, got {lines}")
else:
    done = [int(m.group(1)) for m in rows]
    mem = [float(m.group(5)) for m in rows]
    if done != sorted(done) or done[-1] != N: errors.append(f"progress counts {done} do not rise to {N}")
    if float(rows[-1].group(4)) != 0: errors.append("the last ETA is not 0")
    # flat: over the second half, the peak grows by less than 2 MiB (a leak of 1 KiB per input would add 5;
    # HDF5's index cache, capped at 1 MiB, has about filled by then, from 6000 inputs on here)
    k = next(i for i, d in enumerate(done) if d >= N // 2)
    growth = mem[-1] - mem[k]
    print(f"load: {N} inputs on 2 ranks; peak memory {mem[k]:.1f} MiB at {done[k]} inputs, {mem[-1]:.1f} MiB at the end (+{growth:.2f} MiB)")
    if growth > 2.0: errors.append(f"memory grows: peak {mem[k]:.1f} MiB at {done[k]} inputs, {mem[-1]:.1f} MiB at {N}")
if errors:
    sys.exit("FAIL: run_under_load: " + "; ".join(errors))
PY
echo "load: wall time $(echo "$t1 - $t0" | bc) s for $N inputs"
echo "PASS: $TEST_NAME"
