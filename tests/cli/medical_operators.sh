#!/bin/bash
# cli_medical_operators: the matrix, mri and ct operators (methods.md section 8) written by the input tool
# (tools/dpstools: writer and medical, and its command line dpstools.make) over a Gaussian-mixture input pass
# dpsolve check (adjoint, and what each offers: diag(A^T A) always; for mri with S = 1 the exact inverse, and with complex images the SVD) and sample (ddrm on
# the SVD, cdps on the exact inverse, dps on fan-beam ct); a matrix given by scipy.sparse gives y = A x0 as scipy computes it. Broken
# CSR (decreasing indptr, a column out of range, NaN, wrong lengths, float indices, bad shape) and broken mri data
# (mask not 0/1, maps of the wrong shape, a mask of the wrong size) and ct geometry (unknown geometry, no bins, a
# NaN angle, a fan source inside the image) are refused (exit 65) naming file and dataset.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../../tools" && pwd)
QUICK=(-samples 2 -steps 10 -run_view 0 -progress 0)

dps 1 sim16.log simulate -output g16.h5 -dx 16 -dy 4 -inputs 3 -seed 0
dps 1 sim32.log simulate -output g32.h5 -dx 32 -dy 4 -inputs 3 -seed 0
TOOLS="$TOOLS" "$PYTHON" - <<'PY'
import os, shutil, sys
import h5py, numpy as np, scipy.sparse
sys.path.insert(0, os.environ["TOOLS"])
from dpstools import medical, writer

def make(src, name, shape, fill, y=None):  # fill(g) writes the /operator group g
    shutil.copy(src, name)
    with h5py.File(name, "r+") as f:
        del f["/operator"]
        if "y" in f: del f["/y"]
        if y is not None: f["y"] = y(f["x0"][...])
        f.attrs["data_shape"] = np.array(shape, dtype=np.int64)
        fill(f.create_group("operator"))

rng = np.random.default_rng(5)
A = scipy.sparse.random(6, 16, density=0.3, random_state=7, format="csr")
# y = A x0 exactly as scipy computes it (sigma_y's noise is not added to a given /y)
make("g16.h5", "matrix.h5", [16], lambda g: writer.matrix(g, A), y=lambda x0: (A @ x0.T).T)
np.save("ax0.npy", (A @ h5py.File("g16.h5", "r")["x0"][...].T).T)
mask = medical.mask_random_lines(4, 4, 2, 0.25, rng)
make("g16.h5", "mri_real.h5", [1, 4, 4], lambda g: writer.mri(g, mask))
make("g16.h5", "mri_coils.h5", [1, 4, 4], lambda g: writer.mri(g, mask, medical.coil_maps(4, 4, 4)))
make("g32.h5", "mri_complex.h5", [2, 4, 4], lambda g: writer.mri(g, mask))
make("g16.h5", "ct_parallel.h5", [1, 4, 4], lambda g: writer.ct(g, medical.ct_angles(5, 180), 7))
make("g16.h5", "ct_fan.h5", [1, 4, 4], lambda g: writer.ct(g, medical.ct_angles(6, 360), 9, 1.2, 8.0, 4.0))

def bad(name, src, shape, fill):
    make(src, name, shape, fill)

def csr(**change):
    def fill(g):
        writer.matrix(g, A)
        for k, v in change.items():
            if k == "shape": g.attrs["shape"] = np.array(v, dtype=np.int64)
            else:
                del g[k]; g[k] = v
    return fill
ip = A.indptr.copy(); ip[2], ip[3] = ip[3], ip[2]
ix = A.indices.astype(np.int64).copy(); ix[4] = 16
dt = A.data.copy(); dt[3] = np.nan
bad("csr_indptr.h5", "g16.h5", [16], csr(indptr=ip))
bad("csr_index.h5", "g16.h5", [16], csr(indices=ix))
bad("csr_nan.h5", "g16.h5", [16], csr(data=dt))
bad("csr_short.h5", "g16.h5", [16], csr(indices=A.indices[:-1]))
bad("csr_float.h5", "g16.h5", [16], csr(indices=A.indices.astype(float)))
bad("csr_shape.h5", "g16.h5", [16], csr(shape=[6, 16, 1]))
m2 = mask.copy(); m2[0, 0] = 0.5
bad("mri_mask.h5", "g16.h5", [1, 4, 4], lambda g: writer.mri(g, m2))
def wrongmaps(g):
    writer.mri(g, mask); g["maps"] = np.ones((2, 4, 4))
bad("mri_maps.h5", "g16.h5", [1, 4, 4], wrongmaps)
bad("mri_size.h5", "g16.h5", [1, 4, 4], lambda g: writer.mri(g, np.ones((4, 5))))
def ctbad(name, change, **kw):
    def fill(g):
        writer.ct(g, medical.ct_angles(5, 180), 7, **kw)
        change(g)
    bad(name, "g16.h5", [1, 4, 4], fill)
ctbad("ct_geometry.h5", lambda g: g.attrs.__setitem__("geometry", np.bytes_("cone")))
ctbad("ct_count.h5", lambda g: g.attrs.__setitem__("det_count", np.int64(0)))
def nanangle(g):
    a = g["angles"][...]; a[2] = np.nan; del g["angles"]; g["angles"] = a
ctbad("ct_angles.h5", nanangle)
ctbad("ct_source.h5", lambda g: None, source_distance=2.0, detector_distance=4.0)
PY

for t in matrix mri_real mri_coils mri_complex ct_parallel ct_fan; do
  dps 1 "check_$t.log" check -input "$t.h5"
  expect_in "check_$t.log" "operator ${t%%_*}: loaded" "all checks passed"
  if grep -q "diag(A^T A) *-" "check_$t.log"; then fail "$t: diag(A^T A) not offered"; fi
done
expect_in check_mri_real.log "inverse of a I + b A^T A"
if grep -q "inverse of a I + b A^T A *[0-9]" check_mri_coils.log; then fail "multi-coil mri claims an exact inverse"; fi
if grep -q "SVD: V V^T x = x *[0-9]" check_mri_real.log; then fail "mri on real images claims an SVD"; fi
grep -q "SVD: V V^T x = x *[0-9]" check_mri_complex.log || { cat check_mri_complex.log >&2; fail "single-coil complex mri offers no SVD"; }

# the input tool's command line (python3 -m dpstools.make mri | ct | matrix) on an array of 4 x 4 images, with the
# Gaussian-mixture prior copied in: dpsolve check passes
"$PYTHON" -c 'import numpy as np, scipy.sparse; np.save("x4.npy", np.random.default_rng(2).uniform(-1, 1, (3, 1, 4, 4))); scipy.sparse.save_npz("A.npz", scipy.sparse.random(5, 16, density=0.4, random_state=3, format="csr"))'
for op in "mri --kmask equispaced --accel 2 --center-fraction 0.25 --coils 3" "ct --views 6 --source-distance 8 --detector-distance 4" "matrix --matrix A.npz"; do
  name=make_${op%% *}
  PYTHONPATH="$TOOLS" "$PYTHON" -m dpstools.make $op --npy x4.npy --out "$name.h5" >"$name.log" 2>&1 || { cat "$name.log" >&2; fail "dpstools.make $op failed"; }
  "$PYTHON" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); g = h5py.File("g16.h5", "r"); g.copy(g["prior"], f)' "$name.h5"
  dps 1 "check_$name.log" check -input "$name.h5"
  expect_in "check_$name.log" "operator ${op%% *}: loaded" "all checks passed"
done

# sampling end to end: ddrm on the SVD, cdps on the exact inverse, dps on the matrix
dps 1 run_ddrm.log run -input mri_complex.h5 -output ddrm.h5 -sampler_type ddrm "${QUICK[@]}"
dps 1 run_cdps.log run -input mri_real.h5 -output cdps.h5 -sampler_type cdps "${QUICK[@]}"
dps 1 run_ct.log run -input ct_fan.h5 -output ct_out.h5 -sampler_type dps "${QUICK[@]}"
# the CG solves of cdps and pigdm on sparse-view CT at the demo's size (32 x 32, 30 views, sigma_y 0.05): the
# first step needs thousands of iterations even with ct's circulant preconditioner, and stopped at 1000 before
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PYTHONPATH="$TOOLS" "$PYTHON" -m dpstools.make ct --views 30 --sigma-y 0.05 --images 1 --out ct30.h5 >ct30.log 2>&1 || { cat ct30.log >&2; fail "dpstools.make ct --views 30 failed"; }
for s in cdps pigdm; do
  dps 1 "run_ct30_$s.log" run -input ct30.h5 -output "ct30_$s.h5" -sampler_type $s -samples 1 -steps 3 -run_view 0 -progress 0 \
    -options_file_yaml "$SRC/configs/models/fmnist32.yaml" -score_unet_weights "$SRC/data/models/fmnist32.h5"
done
# on 2 ranks: every rank loads the operator (the CSR indices are read collectively)
dps 2 run_matrix.log run -input matrix.h5 -output matrix_out.h5 -sampler_type dps "${QUICK[@]}"
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("matrix_out.h5", "r") as f:
    assert np.array_equal(f["y"][...], np.load("ax0.npy")), "the run's /y is not the given y = A x0"
for o in ("ddrm.h5", "cdps.h5", "ct_out.h5", "ct30_cdps.h5", "ct30_pigdm.h5"):
    with h5py.File(o, "r") as f:
        assert np.all(np.isfinite(f["samples"][...])), o
PY

refused() { # refused NAME STRING...: check exits 65 and names the file and each string
  local name=$1 rc=0
  shift
  launch 1 check -input "$name.h5" >"$name.log" 2>&1 || rc=$?
  [ "$rc" -eq 65 ] || { cat "$name.log" >&2; fail "check of $name.h5 exited $rc, expected 65"; }
  expect_error "$name.log"
  expect_in "$name.log" "$name.h5" "$@"
}
refused csr_indptr "/operator/indptr" "decreases at row"
refused csr_index "/operator/indices" "holds 16 at entry 4"
refused csr_nan "/operator/data" "nan"
refused csr_short "/operator/indices" "expected"
refused csr_float "/operator/indices" "must be integers"
refused csr_shape "shape"
refused mri_mask "/operator/mask" "must be 0 or 1"
refused mri_maps "/operator/maps" "(coils, H, W, 2)"
refused mri_size "/operator/mask" "4 x 5"
refused ct_geometry "geometry" "cone"
refused ct_count "det_count"
refused ct_angles "/operator/angles" "nan"
refused ct_source "source_distance" "outside"
echo "PASS: $TEST_NAME"
