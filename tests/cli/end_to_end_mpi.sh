#!/bin/bash
# cli_end_to_end_mpi: simulate, run (cdps) and eval on 2 ranks; the output file has the layout of design.md
# ("Files"), the eval table matches /eval, and -log_view shows the solver's events. -score_backend auto (the
# default) says in the set-up summary and the score_backend attribute which backend it took; -score_backend cuda
# without a GPU fails with a message naming it and leaves the existing output alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# auto takes CUDA only in a CUDA build (DPS_BUILD_CUDA, from CMake) on a machine with a GPU (nvidia-smi's list)
BACKEND=cpu
if [ "${DPS_BUILD_CUDA:-OFF}" = ON ] && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then BACKEND=cuda; fi

N=6 S=64 D=8
dps 1 sim.log simulate -output in.h5 -dx $D -dy 2 -inputs $N -seed 0
dps 2 run.log run -input in.h5 -output out.h5 -sampler_type cdps -samples $S -steps 50 -seed 11 -batch 2 -log_view
[ ! -e out.h5.partial ] || fail "out.h5.partial left behind"
expect_in run.log DpsScoreEps KSPSolve DpsIOWrite "backend $BACKEND (requested auto)"
dps 2 eval.log eval -input in.h5 -output out.h5 -eval_directions 200

# -score_backend cuda where there is no GPU: an error naming the option, and out.h5 (replaced with -force only once
# a run completes) untouched, with no .partial left behind
if [ "$BACKEND" = cpu ]; then
  sum=$(md5sum <out.h5)
  dps_fails 2 cuda.log run -input in.h5 -output out.h5 -force -sampler_type cdps -samples $S -steps 50 -seed 11 -score_backend cuda
  expect_error cuda.log
  expect_in cuda.log "-score_backend cuda: "
  [ "$(md5sum <out.h5)" = "$sum" ] || fail "the failed -score_backend cuda run changed out.h5"
  [ ! -e out.h5.partial ] || fail "the failed -score_backend cuda run left out.h5.partial"
else
  echo "a GPU is present: -score_backend cuda is expected to work here, its failure is not checked"
fi

"$PYTHON" - "$N" "$S" "$D" "$BACKEND" <<'EOF'
import re, sys, h5py, numpy as np
N, S, D = map(int, sys.argv[1:4])
backend = sys.argv[4]
errors = []
def check(ok, what):
    if not ok:
        errors.append(what)

with h5py.File("in.h5", "r") as fin, h5py.File("out.h5", "r") as f:
    x = f["samples"][...]
    check(x.shape == (N, S, D), f"/samples has shape {x.shape}, expected {(N, S, D)}")
    check(np.all(np.isfinite(x)), "/samples is not finite")
    done = f["done"][...]
    check(done.shape == (N,) and np.all(done == 1), f"/done = {done}, expected {N} ones")
    mean, std = f["mean"][...], f["std"][...]
    check(mean.shape == (N, D) and std.shape == (N, D), f"/mean {mean.shape}, /std {std.shape}, expected {(N, D)}")
    check(np.max(np.abs(mean - x.mean(axis=1))) <= 1e-12, "/mean is not the mean over draws of /samples")
    check(np.max(np.abs(std - x.std(axis=1, ddof=1))) <= 1e-12, "/std is not the standard deviation (S - 1) over draws")
    check(np.array_equal(f["y"][...], fin["y"][...]), "/y differs from the input's")
    check(np.array_equal(f["x0"][...], fin["x0"][...]), "/x0 differs from the input's")
    # draws differ from each other and between inputs
    check(np.all(x.std(axis=1) > 0), "the draws of an input are all equal")
    check(not np.array_equal(x[0], x[1]), "inputs 0 and 1 have the same draws")
    a = f.attrs
    for name in ("options", "version", "seed", "sampler", "score_backend"):
        check(name in a, f"attribute {name} missing")
    if all(name in a for name in ("options", "version", "seed", "sampler", "score_backend")):
        s = lambda v: v.decode() if isinstance(v, bytes) else str(v)
        check(s(a["sampler"]) == "cdps", f"attribute sampler = {a['sampler']}")
        check(s(a["score_backend"]) == backend, f"attribute score_backend = {a['score_backend']}, expected {backend}")
        check(int(a["seed"]) == 11, f"attribute seed = {a['seed']}")
        check(len(s(a["version"])) > 0, "attribute version is empty")
        check("-samples 64" in s(a["options"]) and "-sampler_type cdps" in s(a["options"]), f"attribute options = {a['options']}")
    sw, floor = f["eval/sw"][...], f["eval/floor"][...]
    for name, v in (("sw", sw), ("floor", floor)):
        check(v.shape == (N,) and np.all(np.isfinite(v)) and np.all(v > 0), f"/eval/{name} = {v}, expected {N} finite positive values")

# the table on stdout: one row per input (the values of /eval, rounded to 4 digits) and a mean row
rows = [l for l in open("eval.log") if re.match(r"^\| *\d+ *\|", l)]
check(len(rows) == N, f"the eval table has {len(rows)} input rows, expected {N}")
means = [l for l in open("eval.log") if re.match(r"^\| *mean", l)]
check(len(means) == 1, f"the eval table has {len(means)} mean rows, expected 1")
for l in rows:
    cells = [c.strip() for c in l.strip().strip("|").split("|")]
    i = int(cells[0])
    check(0 <= i < N and abs(float(cells[1]) - sw[i]) <= 5e-5 and abs(float(cells[2]) - floor[i]) <= 5e-5, f"table row {l.strip()} does not match /eval/sw, /eval/floor")
if means:
    m = re.findall(r"[-+]?\d+\.\d+", means[0])
    check(len(m) >= 3 and abs(float(m[0]) - sw.mean()) <= 5e-5 and abs(float(m[2]) - floor.mean()) <= 5e-5, f"mean row {means[0].strip()} does not match the mean of /eval")

if errors:
    sys.exit("FAIL:\n  " + "\n  ".join(errors))
EOF
echo "PASS: $TEST_NAME"
