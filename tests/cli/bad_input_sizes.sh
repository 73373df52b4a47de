#!/bin/bash
# cli_bad_input_sizes: sizes in the input that this build cannot hold, or that hold nothing, are refused before any
# work with a message naming the file, what is wrong and the value as stored: a data_shape whose product overflows
# PetscInt (once wrapped around and accepted), negative, zero or fractional (once accepted and written to the
# output), 2^31 inputs (a lazily created /y: no data written), m = 0. Every failing run leaves the files as they were.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QUICK=(-samples 4 -steps 10 -run_view 0 -progress 0)
dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0

"$PYTHON" - <<'PY'
import shutil, h5py, numpy as np
def broken(name, change):
    shutil.copy("in.h5", name)
    with h5py.File(name, "r+") as f:
        change(f)
def shape(value):
    def change(f):
        del f["x0"]  # /x0 would disagree first; the shape alone is under test
        f.attrs["data_shape"] = value
    return change
broken("wrap.h5", shape(np.array([16, 268435457], dtype=np.int64)))
broken("big.h5", shape(np.array([65536, 65536], dtype=np.int64)))
broken("neg.h5", shape(np.array([-2, -4], dtype=np.int64)))
broken("zero.h5", shape(np.array([0, 8], dtype=np.int64)))
broken("frac.h5", shape(np.array([2.5, 3.2], dtype=np.float64)))
broken("huge.h5", shape(np.array([2**40], dtype=np.int64)))
def many(f):  # 2^31 inputs, stored lazily: nothing is written
    del f["y"]; del f["x0"]
    f.create_dataset("y", shape=(2**31, 2), dtype="f8")
broken("n2g.h5", many)
def nom(f):
    del f["y"]; f.create_dataset("y", shape=(5, 0), dtype="f8")
broken("m0.h5", nom)
PY

refused() { # refused CASE INPUT strings...: fails with an error holding every string; no file changes or appears
  local case=$1 input=$2
  shift 2
  snapshot >before.sum
  dps_fails 1 "$case.log" run -input "$input" -output out.h5 "${QUICK[@]}"
  expect_error "$case.log"
  expect_in "$case.log" "$input" "$@"
  snapshot >after.sum
  diff before.sum after.sum >&2 || fail "$case: the files changed (above: < before, > after)"
}

refused wrap wrap.h5 "data_shape = (16, 268435457)" "4294967312 entries per input" "PetscInt"
refused big big.h5 "data_shape = (65536, 65536)" "4294967296 entries per input" "32 GiB per draw"
refused neg neg.h5 "data_shape = (-2, -4)" "at least 1"
refused zero zero.h5 "data_shape = (0, 8)" "at least 1"
refused frac frac.h5 "data_shape" "holds 2.5" "not a whole number"
refused huge huge.h5 "data_shape" "holds 1099511627776" "PetscInt"
refused n2g n2g.h5 "/y: 2147483648 inputs: more than the 2147483647 (2^31-1) that this build's 32-bit PetscInt can index"
refused m0 m0.h5 "/y has 0 entries per input (m = 0)"
echo "PASS: $TEST_NAME"
