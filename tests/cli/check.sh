#!/bin/bash
# cli_check: dpsolve check validates an input without sampling. A Gaussian-mixture input with each operator type
# that needs no data beyond its defaults (cs, inpaint, and the image operators blur circular / reflect, sr block /
# bicubic and a chain of blur then sr, on data_shape (1, 4, 4)) passes, with the table of identities (offered ones
# measured, others "not offered"); a tolerance no rounding meets fails with exit status 65 after the table; a
# corrupt input (non-finite /x0) is refused with 65 before any table.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dps 1 sim.log simulate -output cs.h5 -dx 16 -dy 4 -inputs 3 -seed 0
dps 1 check_cs.log check -input cs.h5
expect_in check_cs.log "adjoint <Ax, y> = <x, A^T y>" "SVD: U^T A x = diag(sv) V^T x" "not offered" "all checks passed"

# the image operators, written over the simulated input's operator (data_shape (1, 4, 4): d = 16)
"$PYTHON" - <<'PY'
import h5py, numpy as np, shutil
def make(name, fill):
    shutil.copy("cs.h5", name)
    with h5py.File(name, "r+") as f:
        del f["/operator"]
        if "y" in f: del f["/y"]
        f.attrs["data_shape"] = np.array([1, 4, 4], dtype=np.int64)
        g = f.create_group("/operator")
        fill(g)
def blur(mode):
    def fill(g):
        g.attrs["type"] = np.bytes_("blur"); g.attrs["mode"] = np.bytes_(mode)
        g["kernel"] = np.arange(15, dtype=float).reshape(3, 5) / 100
    return fill
def sr(kind):
    def fill(g):
        g.attrs["type"] = np.bytes_("sr"); g.attrs["kind"] = np.bytes_(kind); g.attrs["factor"] = np.int64(2)
    return fill
def chain(g):
    g.attrs["type"] = np.bytes_("chain"); g.attrs["parts"] = np.int64(2)
    blur("reflect")(g.create_group("part0")); sr("bicubic")(g.create_group("part1"))
make("blur_circular.h5", blur("circular")); make("blur_reflect.h5", blur("reflect"))
make("sr_block.h5", sr("block")); make("sr_bicubic.h5", sr("bicubic")); make("chain.h5", chain)
with h5py.File("cs.h5", "r") as f: x0 = f["/x0"][...]
shutil.copy("cs.h5", "nan.h5")
with h5py.File("nan.h5", "r+") as f:
    x = f["/x0"][...]; x[1, 3] = np.nan; f["/x0"][...] = x
PY
for t in blur_circular blur_reflect sr_block sr_bicubic chain; do
  dps 1 "check_$t.log" check -input "$t.h5"
  expect_in "check_$t.log" "adjoint <Ax, y> = <x, A^T y>" "all checks passed"
done
expect_in check_blur_circular.log "inverse of a I + b A^T A" "SVD: V V^T x = x"
if grep -q "SVD: U^T A x = diag(sv) V^T x *[0-9]" check_blur_reflect.log; then fail "blur reflect claims an SVD"; fi
if grep -q "inverse of a I + b A^T A *[0-9]" check_chain.log; then fail "a chain of two parts claims an exact inverse"; fi

# a tolerance below rounding: the table, then exit 65
rc=0
launch 1 check -input blur_circular.h5 -check_tol 1e-300 >tight.log 2>&1 || rc=$?
[ "$rc" -eq 65 ] || { cat tight.log >&2; fail "check with -check_tol 1e-300 exited $rc, expected 65"; }
expect_in tight.log "FAILED" "fails an identity"
expect_error tight.log

# non-finite data: refused (65), naming the dataset
rc=0
launch 1 check -input nan.h5 >nan.log 2>&1 || rc=$?
[ "$rc" -eq 65 ] || { cat nan.log >&2; fail "check of a file with NaN in /x0 exited $rc, expected 65"; }
expect_in nan.log "/x0"

# a model's configuration sets the schedule as well as the score: check takes it as run does (it refused
# -schedule_beta_end as unknown before), and a misspelt option is still refused (64)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
"$PYTHON" "$SRC/tools/make_image_problem.py" --mask random --images 1 --out image.h5 >make.log 2>&1 || { cat make.log >&2; fail "make_image_problem.py failed"; }
dps 1 config.log check -input image.h5 -options_file_yaml "$SRC/configs/models/fmnist32.yaml" -score_unet_weights "$SRC/data/models/fmnist32.h5"
expect_in config.log "all checks passed"
rc=0
launch 1 check -input cs.h5 -schedule_beta_endd 0.02 >typo.log 2>&1 || rc=$?
[ "$rc" -eq 64 ] || { cat typo.log >&2; fail "check with -schedule_beta_endd exited $rc, expected 64"; }
expect_in typo.log "schedule_beta_endd"
echo "PASS: $TEST_NAME"
