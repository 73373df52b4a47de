#!/bin/bash
# cli_bad_input_semantic: input files that are well-formed HDF5 but mean nothing dpsolve can solve, or more than
# it can hold, are refused with a message that names the file, the dataset or attribute and what is wrong, and
# leave every file as it was. Before issue 9 these ran silently (an all-zero mask, means of 1e200, a /prior of
# unknown type blamed on -score_type) or failed with PETSc's bare messages (a matrix of 4 x 2^32+16, 0 rows).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QUICK=(-samples 4 -steps 10 -run_view 0 -progress 0)

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0
dps 1 simmask.log simulate -output inmask.h5 -dx 8 -inputs 5 -seed 0 -simulate_operator inpaint
# the controls: both inputs run as they are
dps 1 good.log run -input in.h5 -output good.h5 "${QUICK[@]}"
dps 1 goodmask.log run -input inmask.h5 -output goodmask.h5 "${QUICK[@]}"

# the broken inputs: copies with one thing changed. The huge matrix is declared, never written: HDF5 allocates a
# dataset's storage when it is first written, so the file stays small
"$PYTHON" - <<'PY'
import os, shutil, h5py, numpy as np
def broken(src, name, change):
    shutil.copy(src, name)
    with h5py.File(name, "r+") as f:
        change(f)
def matrix(shape):
    def change(f):
        del f["operator/matrix"]; f.create_dataset("operator/matrix", shape=shape, dtype="f8")
    return change
def k0(f):
    for n, shape in (("weights", (0,)), ("means", (0, 8)), ("variances", (0,))):
        del f["prior/" + n]; f.create_dataset("prior/" + n, shape=shape, dtype="f8")
def mean_at(k, j, v):
    def change(f):
        m = f["prior/means"][...]; m[k, j] = v; f["prior/means"][...] = m
    return change
def prior_type(t):
    def change(f): f["prior"].attrs["type"] = t
    return change
def zero_mask(f): f["operator/mask"][...] = 0.0
broken("in.h5", "huge.h5", matrix((4, 2**32 + 16)))
assert os.path.getsize("huge.h5") < 1 << 20, "h5py wrote the huge matrix's data"
broken("in.h5", "rows0.h5", matrix((0, 8)))
broken("in.h5", "k0.h5", k0)
broken("in.h5", "bigmean.h5", mean_at(3, 5, 1e200))
broken("in.h5", "ptype.h5", prior_type("gmmm"))
broken("inmask.h5", "zeromask.h5", zero_mask)
PY


# an inpainting mask that observes nothing: y carries no information
fails_cleanly zeromask 1 run -input zeromask.h5 -output out.h5 "${QUICK[@]}"
expect_in zeromask.log "zeromask.h5: dataset /operator/mask is all 0" "none of its 8 entries is observed"
fails_cleanly zeromask2 2 run -input zeromask.h5 -output out.h5 "${QUICK[@]}"
expect_in zeromask2.log "zeromask.h5: dataset /operator/mask is all 0"
cp good.h5 old.h5
fails_cleanly zeromaskforce 1 run -input zeromask.h5 -output old.h5 "${QUICK[@]}" -force
expect_in zeromaskforce.log "zeromask.h5: dataset /operator/mask is all 0"

# a mean whose squared norm overflows (1e200^2 = inf): the score would be inf or nan
fails_cleanly bigmean 1 run -input bigmean.h5 -output out.h5 "${QUICK[@]}"
expect_in bigmean.log "bigmean.h5: dataset /prior/means" "component 3" "overflows" "1e+200"
fails_cleanly bigmeaneval 1 eval -input bigmean.h5 -output good.h5 -force
expect_in bigmeaneval.log "bigmean.h5: dataset /prior/means" "component 3"

# a /prior of unknown type: the file's attribute is wrong, not an option; the known types come from the registry
fails_cleanly ptype 1 run -input ptype.h5 -output out.h5 "${QUICK[@]}"
expect_in ptype.log "ptype.h5: attribute type of /prior is 'gmmm'" "known: gmm, unet"
if grep -qF -- "-score_type" ptype.log; then
  cat ptype.log >&2
  fail "a /prior of unknown type is blamed on -score_type, which was not given"
fi

# sizes: too large says what and how much memory; zero rows or components name the file and the dataset
fails_cleanly huge 1 run -input huge.h5 -output out.h5 "${QUICK[@]}"
expect_in huge.log "huge.h5: dataset /operator/matrix is 4 x 4294967312, too large" "128.0 GiB"
fails_cleanly huge2 2 run -input huge.h5 -output out.h5 "${QUICK[@]}"
expect_in huge2.log "huge.h5: dataset /operator/matrix is 4 x 4294967312, too large"
fails_cleanly rows0 1 run -input rows0.h5 -output out.h5 "${QUICK[@]}"
expect_in rows0.log "rows0.h5: dataset /operator/matrix is 0 x 8" "m >= 1 rows"
fails_cleanly k0 1 run -input k0.h5 -output out.h5 "${QUICK[@]}"
expect_in k0.log "k0.h5: dataset /prior/means is 0 x 8" "K >= 1 components"

echo "PASS: $TEST_NAME"
