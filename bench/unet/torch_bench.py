#!/usr/bin/python3
"""PyTorch's throughput for the architectures of bench_unet (tools/unet.py, random weights), CPU or GPU:
    /usr/bin/python3 bench/unet/torch_bench.py mini|fmnist32|ffhq|imagenet256 [batch ...] [--threads N] [--vjp]
        [--seconds S] [--device cuda [--tf32]]
Prints images per second like bench_unet, for a comparison on the same machine (bench_unet is single-threaded:
compare with --threads 1). On the GPU each call starts from host arrays and ends with the result on the host,
as bench_unet -cuda does (dpsolve's score model sees host arrays); float32 unless --tf32 (which allows TF32 in
both matmuls and cuDNN convolutions; PyTorch's own default allows it in cuDNN), cuDNN picks its fastest
convolution algorithms (benchmark mode) in an untimed first call."""

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
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--tf32", action="store_true")
    a = p.parse_args()
    th.set_num_threads(a.threads)
    dev = th.device(a.device)
    if a.device == "cuda":
        th.backends.cuda.matmul.allow_tf32 = a.tf32
        th.backends.cudnn.allow_tf32 = a.tf32
        th.backends.cudnn.benchmark = True
    config = {"mini": MINI, "fmnist32": FMNIST32}.get(a.config) or unet.CONFIGS[a.config]
    model = unet.create(config).eval().to(dev)
    s, c = config["image_size"], config["in_channels"]
    where = f"{a.threads} thread(s)" if a.device == "cpu" else f"{th.cuda.get_device_name(0)}, {'TF32' if a.tf32 else 'float32'}"
    print(f"{a.config}: PyTorch {th.__version__}, {where}")
    for n in a.batch:
        x = th.randn(n, c, s, s)
        t = th.arange(n, dtype=th.float32) * 100
        u = th.randn(n, config["out_channels"], s, s)

        def call(vjp):
            # host arrays in, host result out (on the CPU .to() and .cpu() are no-ops)
            xd, td = x.to(dev), t.to(dev)
            if vjp:
                xd.requires_grad_(True)
                out = model(xd, td)
                return th.autograd.grad(out, xd, grad_outputs=u.to(dev))[0].cpu()
            with th.no_grad():
                return model(xd, td).cpu()

        for vjp in ([False, True] if a.vjp else [False]):
            call(vjp)  # untimed: cuDNN's algorithm search, the allocator's first blocks
            calls, t0 = 0, time.perf_counter()
            while True:
                call(vjp)
                calls += 1
                el = time.perf_counter() - t0
                if el >= a.seconds:
                    break
            print(f"  {'VJP' if vjp else 'forward':7s} batch {n:3d}: {calls * n / el:9.3f} images/s  "
                  f"({calls} calls, {el / calls:.4f} s per call)", flush=True)


if __name__ == "__main__":
    main()
