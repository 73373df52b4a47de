#!/usr/bin/python3
"""Converts a guided-diffusion checkpoint (a PyTorch state dict, .pt) to dpsolve's HDF5 weights file
(docs/models.md):

    /usr/bin/python3 tools/convert_checkpoint.py --config ffhq ffhq_10m.pt ffhq.h5
    dpsolve run ... -score_type unet -score_unet_weights ffhq.h5

--config names an architecture of tools/unet.py (ffhq: DPS's ffhq_10m.pt; imagenet256: guided-diffusion's
256x256_diffusion_uncond.pt) or a JSON file with the same keys. The state dict must match that architecture
exactly: every missing, unexpected or mis-shaped parameter is reported by name, and nothing is written.
With --check, the converted file is read back and the model is evaluated from it and from the checkpoint on
random inputs (needs a few seconds per image on a CPU for the 256 px models).
Needs Debian's python3-torch, python3-h5py and python3-numpy (/usr/bin/python3).
"""

import argparse
import os
import sys

import h5py
import numpy as np
import torch as th

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet  # noqa: E402
import unet_h5  # noqa: E402


def load_state_dict(path):
    try:
        obj = th.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        obj = th.load(path, map_location="cpu")
    for key in ("state_dict", "model", "ema"):  # wrapped by some training scripts
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: not a state dict (a {type(obj).__name__})")
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def compare(state, reference):
    """Messages for every missing, unexpected and mis-shaped parameter of state against reference."""
    problems = []
    for name, t in reference.items():
        if name not in state:
            problems.append(f"missing parameter {name} {list(t.shape)}")
        elif tuple(state[name].shape) != tuple(t.shape):
            problems.append(f"parameter {name} has shape {list(state[name].shape)}, expected {list(t.shape)}")
    for name, t in state.items():
        if name not in reference:
            problems.append(f"unexpected parameter {name} {list(getattr(t, 'shape', []))}")
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help=f"{' | '.join(unet.CONFIGS)} | file.json")
    p.add_argument("--check", action="store_true", help="evaluate the model from the checkpoint and from the "
                   "converted file on random inputs and compare")
    p.add_argument("checkpoint", help="guided-diffusion state dict (.pt)")
    p.add_argument("output", help="HDF5 weights file to write")
    args = p.parse_args(argv)

    config = unet_h5.load_config(args.config)
    model = unet.create(config)
    reference = model.state_dict()
    state = load_state_dict(args.checkpoint)
    problems = compare(state, reference)
    if problems:
        print(f"{args.checkpoint} does not match --config {args.config} "
              f"({len(reference)} parameters expected):", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
        return 1
    bad = [n for n, t in state.items() if not th.isfinite(t.float()).all()]
    if bad:
        print(f"{args.checkpoint}: non-finite values in {', '.join(bad)}", file=sys.stderr)
        return 1
    # keep the state dict's order; float16 checkpoints (use_fp16) become float32
    ordered = {name: state[name].float() for name in reference}
    tmp = args.output + ".partial"
    with h5py.File(tmp, "w", libver=("v110", "v110")) as f:
        f.attrs["source"] = np.bytes_(os.path.basename(args.checkpoint))
        unet_h5.write_group(f.create_group("prior"), config, ordered)
    os.replace(tmp, args.output)
    total = sum(t.numel() for t in ordered.values())
    print(f"{args.output}: {len(ordered)} parameters ({total} values) of a {config['image_size']} px UNet, "
          f"{config['in_channels']} -> {config['out_channels']} channels")

    if args.check:
        with h5py.File(args.output, "r") as f:
            attrs, weights = unet_h5.read_group(f["prior"])
        model.load_state_dict({k: th.from_numpy(v) for k, v in weights.items()}, strict=True)
        model.eval()
        original = unet.create(config).eval()
        original.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        gen = th.Generator().manual_seed(0)
        s, c = config["image_size"], config["in_channels"]
        x = th.randn((1, c, s, s), generator=gen)
        t = th.tensor([500.0])
        with th.no_grad():
            a, b = model(x, t), original(x, t)
        err = float((a - b).abs().max())
        print(f"check: the converted weights reproduce the checkpoint's output (max abs difference {err:.1e})")
        if err != 0.0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
