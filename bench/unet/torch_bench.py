#!/usr/bin/python3
"""PyTorch's throughput for the architectures of bench_unet (tools/unet.py, random weights, CPU):
    /usr/bin/python3 bench/unet/torch_bench.py mini|fmnist32|ffhq|imagenet256 [batch ...] [--threads N] [--vjp] [--seconds S]
Prints images per second like bench_unet, for a comparison on the same machine (bench_unet is single-threaded:
compare with --threads 1)."""

import argparse
import os
import sys
import time

import torch as th

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import unet  # noqa: E402
from train_fmnist import FMNIST32  # noqa: E402

MINI = dict(image_size=16, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=1,
            attention_resolutions=(8,), channel_mult=(1, 1), num_heads=4, num_head_channels=8,
            num_heads_upsample=-1, use_scale_shift_norm=True, resblock_updown=True, conv_resample=True,
            use_new_attention_order=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("config", choices=["mini", "fmnist32", *unet.CONFIGS])
    p.add_argument("batch", nargs="*", type=int, default=[1])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vjp", action="store_true")
    p.add_argument("--seconds", type=float, default=3.0)
    a = p.parse_args()
    th.set_num_threads(a.threads)
    config = {"mini": MINI, "fmnist32": FMNIST32}.get(a.config) or unet.CONFIGS[a.config]
    model = unet.create(config).eval()
    s, c = config["image_size"], config["in_channels"]
    print(f"{a.config}: PyTorch {th.__version__}, {a.threads} thread(s)")
    for n in a.batch:
        x = th.randn(n, c, s, s)
        t = th.arange(n, dtype=th.float32) * 100
        for vjp in ([False, True] if a.vjp else [False]):
            calls, t0 = 0, time.perf_counter()
            while True:
                if vjp:
                    xr = x.clone().requires_grad_(True)
                    out = model(xr, t)
                    th.autograd.grad(out, xr, grad_outputs=th.ones_like(out))
                else:
                    with th.no_grad():
                        model(x, t)
                calls += 1
                el = time.perf_counter() - t0
                if el >= a.seconds:
                    break
            print(f"  {'VJP' if vjp else 'forward':7s} batch {n:3d}: {calls * n / el:9.3f} images/s  "
                  f"({calls} calls, {el / calls:.2f} s per call)", flush=True)


if __name__ == "__main__":
    main()
