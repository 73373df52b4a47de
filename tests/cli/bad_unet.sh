#!/bin/bash
# cli_bad_unet: broken UNet weights and image inputs that do not fit the UNet make `dpsolve run` fail with a
# message naming the file, the parameter or the shapes, a non-zero exit and no file written or changed.
# Regression test of issue 9: the loader's error paths used to free the network and then format their message from
# it (a NaN weight read its value from freed parameters: a crash; a parameter that is a soft-link loop printed its
# name from the freed table: garbage; a UNet with 1 input and 3 output channels read both from the freed
# network), and a data_shape that is not the UNet's (C, H, W) but has as many entries was accepted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

# the weights: the 16x16, 1-channel UNet of the unet tests' fixture (tools/make_unet_fixtures.py), alone in a file,
# and copies with one thing broken; the input: 2 images of 1x16x16, everything observed
"$PYTHON" - "$SRC/tests/unet/fixtures/plain.h5" <<'EOF'
import shutil, sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as src, h5py.File("w.h5", "w") as dst:
    src.copy("prior", dst)
def broken(name, change):
    shutil.copy("w.h5", name)
    with h5py.File(name, "r+") as f:
        change(f["prior"])
def value(param, index, v):
    def change(g):
        a = g[param][...]; a[index] = v; g[param][...] = a
    return change
def loop(g):  # the first parameter of the table, a soft link to itself
    del g["time_embed.0.weight"]
    g["time_embed.0.weight"] = h5py.SoftLink("/prior/time_embed.0.weight")
def out3(g):  # 1 input channel, 3 output channels: neither eps (1) nor eps and v (2)
    g.attrs["out_channels"] = 3
    w = g["out.2.weight"][...]; del g["out.2.weight"]; del g["out.2.bias"]
    g["out.2.weight"] = np.concatenate([w, w, w]); g["out.2.bias"] = np.zeros(3, dtype=np.float32)
broken("w-nan.h5", value("input_blocks.1.0.in_layers.2.weight", (5, 0, 1, 2), np.nan))
broken("w-inf.h5", value("time_embed.2.bias", 7, -np.inf))
broken("w-loop.h5", loop)
broken("w-out3.h5", out3)

rng = np.random.default_rng(3)
def problem(name, shape, prior=False):
    x0 = rng.uniform(-1, 1, (2, 256))
    with h5py.File(name, "w") as f:
        f["x0"] = x0
        f["y"] = x0 + 0.1 * rng.standard_normal(x0.shape)
        g = f.create_group("operator")
        g.attrs["type"] = np.bytes_("inpaint")
        g["mask"] = np.ones(256)
        f.attrs["sigma_y"] = np.float64(0.1)
        f.attrs["data_shape"] = np.array(shape, dtype=np.int64)
        if prior:
            with h5py.File("w.h5", "r") as w:
                w.copy("prior", f)
problem("in.h5", [1, 16, 16])
problem("in-hwc.h5", [16, 16, 1])          # the same 256 entries, channels last
problem("in-flat.h5", [256])
problem("in-own.h5", [1, 16, 16], prior=True)  # the UNet in the input's own /prior
problem("in-own-bad.h5", [1, 8, 32], prior=True)
EOF
ln -s loop.h5 loop.h5

QUICK=(-score_type unet -samples 1 -steps 2 -run_view 0 -progress 0)

# the weights work (so that what fails below fails for the one thing broken)
dps 1 good.log run -input in.h5 -output good.h5 -score_unet_weights w.h5 "${QUICK[@]}"
dps 1 own.log run -input in-own.h5 -output own.h5 "${QUICK[@]}"
rm good.h5 own.h5

# non-finite weights: the file, the parameter, the value and the entry (row-major: [5][0][1][2] of [32][32][3][3])
fails_cleanly nan 1 run -input in.h5 -output out.h5 -score_unet_weights w-nan.h5 "${QUICK[@]}"
expect_in nan.log "w-nan.h5: parameter /prior/input_blocks.1.0.in_layers.2.weight holds nan at entry 1445: every weight must be finite"
fails_cleanly inf 1 run -input in.h5 -output out.h5 -score_unet_weights w-inf.h5 "${QUICK[@]}"
expect_in inf.log "w-inf.h5: parameter /prior/time_embed.2.bias holds -inf at entry 7"

# a parameter that is a soft link to itself: not a dataset, named with the shape it should have
fails_cleanly loop 1 run -input in.h5 -output out.h5 -score_unet_weights w-loop.h5 "${QUICK[@]}"
expect_in loop.log "w-loop.h5: /prior/time_embed.0.weight is not a dataset (expected parameter time_embed.0.weight of shape [128, 32])"

# a weights file name that is a symbolic-link loop
fails_cleanly fsloop 1 run -input in.h5 -output out.h5 -score_unet_weights loop.h5 "${QUICK[@]}"
expect_in fsloop.log "loop.h5: cannot read the unet weights file (-score_unet_weights): Too many levels of symbolic links"

# output channels that are neither eps nor eps and v
fails_cleanly out3 1 run -input in.h5 -output out.h5 -score_unet_weights w-out3.h5 "${QUICK[@]}"
expect_in out3.log "w-out3.h5: the unet has 1 input and 3 output channels"

# a data_shape with the UNet's 256 entries that is not its (C, H, W) = (1, 16, 16): both shapes and both files
fails_cleanly hwc 1 run -input in-hwc.h5 -output out.h5 -score_unet_weights w.h5 "${QUICK[@]}"
expect_in hwc.log "in-hwc.h5: data_shape (16, 16, 1) is not the unet's (C, H, W) = (1, 16, 16) (weights w.h5)"
fails_cleanly flat 1 run -input in-flat.h5 -output out.h5 -score_unet_weights w.h5 "${QUICK[@]}"
expect_in flat.log "in-flat.h5: data_shape (256) is not the unet's (C, H, W) = (1, 16, 16) (weights w.h5)"
fails_cleanly own 1 run -input in-own-bad.h5 -output out.h5 "${QUICK[@]}"
expect_in own.log "in-own-bad.h5: data_shape (1, 8, 32) is not the unet's (C, H, W) = (1, 16, 16) (weights in-own-bad.h5)"
echo "cli_bad_unet: all cases refused cleanly"
