#!/usr/bin/python3
"""Writes tests/unet/fixtures/*.h5: small guided-diffusion UNets with random weights and what PyTorch computes
with them, the oracle of dpsolve's C UNet (tests/unet). Run with Debian's python3 (python3-torch, python3-h5py):

    /usr/bin/python3 tools/make_unet_fixtures.py [outdir]

Each file holds
  /prior           the weights in dpsolve's format (tools/unet_h5.py, docs/models.md): attributes for the
                   architecture, one float32 dataset per state-dict entry
  /x  [B,C,H,W]    inputs (float32), /t [B] model times (guided-diffusion's 0-based step index, float32)
  /u  [B,O,H,W]    a random cotangent
  /out, /vjp       PyTorch float32: the model output and u^T d(out)/dx (autograd)
  /out_f64, /vjp_f64   the same model, weights and inputs evaluated in float64 (time embedding included):
                   the exact values to float32 precision, against which PyTorch's own float32 error is measured
  /vjp_eps         float32 VJP of the cotangent restricted to the eps half (learned-sigma models only)

The weights are random and every module is non-zero (the zero_module()s of guided-diffusion included); they are
rounded to values with 8 significant bits (bfloat16 values, stored as float32) so that the shuffle+deflate
filters make the files small. The arithmetic is float32 (float64 for the references) throughout.
"""

import os
import sys

import h5py
import numpy as np
import torch as th

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet  # noqa: E402
import unet_h5  # noqa: E402

# Together these exercise every block: ResBlocks with and without scale-shift norm, with up/down sampling inside
# (resblock_updown) and the separate Downsample (strided conv) / Upsample (nearest + conv) modules, 1x1 skip convs,
# attention at two resolutions with heads from num_head_channels (4 heads) and from num_heads (2 heads down, 4 up
# through num_heads_upsample), GroupNorm(32) over 32 and 64 channels (the concatenations), learned sigma (6 output
# channels for 3 input channels) and eps-only output (1 channel).
FIXTURES = {
    # FFHQ's architecture in miniature: scale-shift, resblock up/down, attention at 8x8 with 8 channels per head
    "ffhq_mini": dict(image_size=16, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=1,
                      attention_resolutions=(8,), channel_mult=(1, 1), num_heads=4, num_head_channels=8,
                      num_heads_upsample=-1, use_scale_shift_norm=True, resblock_updown=True,
                      conv_resample=True, use_new_attention_order=False),
    # the plain UNet: additive time embedding, strided-conv Downsample, nearest+conv Upsample, attention at 16x16
    # and 8x8 with num_heads = 2 (4 on the way up), one channel, no learned sigma
    "plain": dict(image_size=16, in_channels=1, model_channels=32, out_channels=1, num_res_blocks=1,
                  attention_resolutions=(16, 8), channel_mult=(1, 1), num_heads=2, num_head_channels=-1,
                  num_heads_upsample=4, use_scale_shift_norm=False, resblock_updown=False,
                  conv_resample=True, use_new_attention_order=False),
}

BATCH = 3
TIMES = (0.0, 417.0, 999.0)


def bf16_round(t):
    return t.to(th.bfloat16).to(th.float32)


def randomize(model, gen):
    """Every parameter random (no zero modules), scaled so that activations stay of order one."""
    with th.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and (".norm." in name or "in_layers.0" in name or "out_layers.0" in name or
                                 name.startswith("out.0")):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * th.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.2 * th.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(th.randn(p.shape, generator=gen) / np.sqrt(fan_in))
            p.copy_(bf16_round(p))


def model_and_inputs(config, seed):
    gen = th.Generator().manual_seed(seed)
    model = unet.create(config).eval()
    randomize(model, gen)
    c, s, o = config["in_channels"], config["image_size"], config["out_channels"]
    x = th.randn((BATCH, c, s, s), generator=gen)
    u = th.randn((BATCH, o, s, s), generator=gen)
    t = th.tensor(TIMES, dtype=th.float32)
    return model, x, t, u


def evaluate(model, x, t, u, dtype):
    """(out, u^T d out / dx) with model, x and u in dtype"""
    m = model.to(dtype)
    xd = x.to(dtype).clone().requires_grad_(True)
    out = m(xd, t)
    (vjp,) = th.autograd.grad(out, xd, grad_outputs=u.to(dtype))
    return out.detach(), vjp.detach()


def write_references(f, model, config, x, t, u):
    """The PyTorch evaluations of `model` at (x, t) and the VJPs of u, as datasets of the open file f; returns the
    float32-vs-float64 differences of PyTorch itself."""
    out, vjp = evaluate(model, x, t, u, th.float32)
    out64, vjp64 = evaluate(model, x, t, u, th.float64)
    model.to(th.float32)
    for key, value, dtype in (("x", x, np.float32), ("t", t, np.float32), ("u", u, np.float32),
                              ("out", out, np.float32), ("vjp", vjp, np.float32),
                              ("out_f64", out64, np.float64), ("vjp_f64", vjp64, np.float64)):
        f.create_dataset(key, data=value.numpy().astype(dtype))
    if config["out_channels"] == 2 * config["in_channels"]:
        ue = u.clone()
        ue[:, config["in_channels"]:] = 0
        _, vjp_eps = evaluate(model, x, t, ue, th.float32)
        f.create_dataset("vjp_eps", data=vjp_eps.numpy().astype(np.float32))
    rel = lambda a, b: float((a.double() - b.double()).abs().max() / b.double().abs().max())  # noqa: E731
    return rel(out, out64), rel(vjp, vjp64)


def write_fixture(path, name, config, seed):
    model, x, t, u = model_and_inputs(config, seed)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        f.attrs["fixture"] = np.bytes_(name)
        f.attrs["torch_version"] = np.bytes_(str(th.__version__))
        f.attrs["seed"] = seed
        unet_h5.write_group(f.create_group("prior"), config, state, compress=True)
        eout, evjp = write_references(f, model, config, x, t, u)
    print(f"{path}: {sum(v.numel() for v in state.values())} parameters, {os.path.getsize(path) // 1024} KiB; "
          f"PyTorch float32 vs float64: out {eout:.1e}, vjp {evjp:.1e} (max abs error / max abs)")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "unet",
                                                                 "fixtures")
    os.makedirs(outdir, exist_ok=True)
    th.set_num_threads(1)
    for seed, (name, config) in enumerate(FIXTURES.items()):
        write_fixture(os.path.join(outdir, name + ".h5"), name, config, 1000 + seed)


if __name__ == "__main__":
    main()
