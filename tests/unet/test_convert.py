#!/usr/bin/python3
"""tools/convert_checkpoint.py on state dicts saved from tools/unet.py (registered only where python3-torch is
installed): usage test_convert.py <test_unet executable> [workdir]

  (a) a random model of an architecture the committed fixtures do not cover (three levels, two res blocks,
      Downsample as average pooling and Upsample without convolution, attention at two resolutions from
      num_head_channels, learned sigma) converts: every dataset equals its tensor, the attributes are the
      configuration, and --check reproduces the checkpoint's output;
  (b) the C UNet evaluates the converted file like PyTorch: test_unet runs on it with references added;
  (c) a missing, an unexpected and a mis-shaped parameter are each refused with a message naming it, and nothing
      is written.
"""

import contextlib
import io
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import torch as th

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
import convert_checkpoint  # noqa: E402
import make_unet_fixtures  # noqa: E402

CONFIG = dict(image_size=16, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=2,
              attention_resolutions=(8, 4), channel_mult=(1, 2, 1), num_heads=1, num_head_channels=16,
              num_heads_upsample=-1, use_scale_shift_norm=True, resblock_updown=False, conv_resample=False,
              use_new_attention_order=False)

failures = 0


def check(ok, message):
    global failures
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures += 1


def convert(config_path, pt, h5, extra=()):
    """(exit status, stdout, stderr) of tools/convert_checkpoint.py, run in this process"""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = convert_checkpoint.main(["--config", config_path, *extra, pt, h5])
    return status, out.getvalue(), err.getvalue()


def main():
    test_unet = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else os.getcwd()
    os.makedirs(work, exist_ok=True)
    th.set_num_threads(1)
    config_path = os.path.join(work, "convert_config.json")
    with open(config_path, "w") as f:
        json.dump(CONFIG, f)
    model, x, t, u = make_unet_fixtures.model_and_inputs(CONFIG, 2024)
    state = model.state_dict()
    pt, h5 = os.path.join(work, "convert_model.pt"), os.path.join(work, "convert_model.h5")
    th.save(state, pt)

    # (a)
    status, out, err = convert(config_path, pt, h5, ["--check"])
    check(status == 0, f"conversion succeeds: {out.strip()} {err.strip()}")
    with h5py.File(h5, "r") as f:
        g = f["prior"]
        same = set(g.keys()) == set(state.keys()) and all(
            g[k].dtype == np.float32 and np.array_equal(g[k][()], state[k].numpy()) for k in state)
        check(same, f"the {len(state)} datasets are the state dict's tensors, float32, same names and shapes")
        a = g.attrs
        check(a["type"] == b"unet" and a["format_version"] == 1 and a["num_res_blocks"] == 2 and
              list(a["channel_mult"]) == [1, 2, 1] and list(a["attention_ds"]) == [2, 4] and
              a["conv_resample"] == 0 and a["resblock_updown"] == 0, "the attributes describe the architecture")

    # (b): the references of tools/make_unet_fixtures.py next to the converted weights, then the C test
    with h5py.File(h5, "a") as f:
        make_unet_fixtures.write_references(f, model, CONFIG, x, t, u)
    r = subprocess.run([test_unet, h5], capture_output=True, text=True)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, "the C UNet evaluates the converted weights like PyTorch (test_unet)")

    # (c)
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "output_blocks.4.1.qkv.bias"},
                    "missing parameter output_blocks.4.1.qkv.bias [192]"),
        "unexpected": (dict(state, **{"input_blocks.3.0.op.weight": th.zeros(3)}),
                       "unexpected parameter input_blocks.3.0.op.weight"),
        "mis-shaped": (dict(state, **{"middle_block.1.proj_out.weight": th.zeros(32, 32)}),
                       "middle_block.1.proj_out.weight has shape [32, 32], expected [32, 32, 1]"),
    }
    for what, (sd, expect) in cases.items():
        bad_pt, bad_h5 = os.path.join(work, f"convert_{what}.pt"), os.path.join(work, f"convert_{what}.h5")
        if os.path.exists(bad_h5):
            os.remove(bad_h5)
        th.save(sd, bad_pt)
        status, out, err = convert(config_path, bad_pt, bad_h5)
        check(status != 0 and expect in err and not os.path.exists(bad_h5),
              f"a {what} parameter is refused: {err.strip().splitlines()[-1].strip() if err.strip() else '(no message)'}")
    print(f"{failures} failure(s)" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
