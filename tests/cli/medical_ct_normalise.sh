#!/bin/bash
# cli_medical_ct_normalise (issue 13): dpstools.make ct --normalise stores A = Joseph / ||Joseph||_2 (attribute
# scale) and sigma_y / ||Joseph||_2: ||A||_2 = 1 (dense A from dpsolve, numpy's 2-norm), y is the unnormalised
# input's y times scale (the same problem in other units; dpsolve's simulation, same seed), and the baselines (FBP)
# see the same problem. DPS at its default zeta, one draw of 100 steps on 2 development images: on the normalised
# input within 3 dB of filtered backprojection (22.7 against 24.2 dB when written; the mean of 2 draws over 8 images
# is in bench/images), and at least 4 dB ahead of DPS on the unnormalised input (16.9 dB: zeta 30 times too long
# for ||A||_2 = 30.4, the bug of issue 13). A bad scale is refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export PYTHONPATH="$SRC/tools" DPSOLVE
DPS_CLI_TIMEOUT=120
for n in "" --normalise; do
  "$PYTHON" -m dpstools.make ct --views 30 --sigma-y 0.05 --first 2008 --images 2 --simulate-y 1 $n \
    --out "ct${n:+n}.h5" > "make${n:+n}.log" 2>&1 || { cat "make${n:+n}.log" >&2; fail "dpstools.make ct $n failed"; }
done
RUN=(run -options_file_yaml "$SRC/configs/models/fmnist32.yaml" -score_unet_weights "$SRC/data/models/fmnist32.h5"
     -sampler_type dps -samples 1 -steps 100 -seed 1 -run_view 0 -progress 0)
dps 1 run_n.log "${RUN[@]}" -input ctn.h5 -output dps_n.h5
dps 1 run_u.log "${RUN[@]}" -input ct.h5 -output dps_u.h5
"$PYTHON" - "$SRC" "$DPSOLVE" <<'PY'
import sys
import h5py, numpy as np
sys.path.insert(0, sys.argv[1] + "/tools"); sys.path.insert(0, sys.argv[1] + "/bench/images")
import image_metrics
from dpstools import baselines, cop
with h5py.File("ct.h5") as u, h5py.File("ctn.h5") as n:
    s = float(n["operator"].attrs["scale"])
    assert "scale" not in u["operator"].attrs
    assert abs(n.attrs["sigma_y"] - 0.05 * s) <= 1e-15, n.attrs["sigma_y"]
    err = np.abs(n["y"][...] / s - u["y"][...]).max() / np.abs(u["y"][...]).max()
    assert err < 1e-12, f"normalised y / scale differs from y by {err:g}"
A = cop.apply(sys.argv[2], "ctn.h5", np.eye(1024))
nrm = np.linalg.norm(A, 2)
assert abs(nrm - 1) < 1e-9, f"||A||_2 = {nrm!r} after --normalise"
psnr = lambda x, t: image_metrics.psnr(np.clip(x.reshape(32, 32), -1, 1), t.reshape(32, 32), 2)
res = {}
for tag, inp, out in (("normalised", "ctn.h5", "dps_n.h5"), ("unnormalised", "ct.h5", "dps_u.h5")):
    I = baselines.read_input(inp)
    fbp = [psnr(dict(baselines.baselines_ct(I, i))["fbp"]().reshape(-1), I["x0"][i]) for i in range(2)]
    with h5py.File(out) as f:
        x = f["samples"][...][:, 0]
    res[tag] = (np.mean([psnr(x[i], I["x0"][i]) for i in range(2)]), np.mean(fbp))
    print(f"{tag}: DPS {res[tag][0]:.2f} dB, FBP {res[tag][1]:.2f} dB")
assert abs(res["normalised"][1] - res["unnormalised"][1]) < 1e-6, "FBP differs between the two units"
assert res["normalised"][0] > res["normalised"][1] - 3, "DPS on the normalised input is 3 dB behind FBP"
assert res["normalised"][0] > res["unnormalised"][0] + 4, "DPS gains less than 4 dB from the normalisation"
PY
# a scale that is not positive and finite is refused, naming the attribute
cp ctn.h5 bad.h5
"$PYTHON" -c 'import h5py; f = h5py.File("bad.h5", "r+"); f["operator"].attrs["scale"] = -1.0'
rc=0
launch 1 check -input bad.h5 > bad.log 2>&1 || rc=$?
[ "$rc" -eq 65 ] || { cat bad.log >&2; fail "a negative ct scale: exit $rc, expected 65"; }
grep -q "attribute scale" bad.log || { cat bad.log >&2; fail "the refusal does not name the attribute scale"; }
echo "$TEST_NAME: ok"
