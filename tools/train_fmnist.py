#!/usr/bin/python3
"""Trains the small guided-diffusion UNet that dpsolve ships as its image prior (data/models/fmnist32.h5).

    /usr/bin/python3 tools/train_fmnist.py --minutes 60 --out data/models/fmnist32.h5

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), the 60,000
training images, padded from 28x28 to 32x32 with the background value and scaled to [-1, 1]; random
horizontal flips. The 10,000 test images are held out: the demo and the denoising evaluation use them only.

Model: tools/unet.py's UNetModel, the architecture of the released checkpoints at a small size (FMNIST32 below:
32 channels, channel_mult (1, 2, 2), one res block, attention at 8x8, scale-shift norm, resblock up/down,
eps output). Training: the DDPM eps loss (Ho et al. 2020) on dpsolve's linear schedule (T = 1000, beta from 1e-4
to 0.02: src/core/schedule.c), t uniform, the model called with the 0-based index t - 1 as guided-diffusion
does (docs/models.md, "Time"); AdamW, an exponential moving average of the weights, which is what is saved.

Writes the weights file (dpsolve's format, tools/unet_h5.py), a CSV of the loss and, with --evaluate, the
held-out denoising error of the model's Tweedie estimate against the linear (Wiener) denoiser built from the
training mean and covariance (--evaluate-only: of an existing weights file). Needs python3-torch, python3-numpy,
python3-h5py (and python3-matplotlib for --plot). CPU threads: all cores; a GPU is used when there is one.
--state and --resume continue a training run in legs (the loss CSV is appended to).
"""

import argparse
import copy
import csv
import math
import os
import sys
import time

import h5py
import numpy as np
import torch as th

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
import unet  # noqa: E402
import unet_h5  # noqa: E402

FMNIST32 = dict(image_size=32, in_channels=1, model_channels=32, out_channels=1, num_res_blocks=1,
                attention_resolutions=(8,), channel_mult=(1, 2, 2), num_heads=1, num_head_channels=32,
                num_heads_upsample=-1, use_scale_shift_norm=True, resblock_updown=True, conv_resample=True,
                use_new_attention_order=False)
T = 1000


def abar_table():
    """abar_t for t = 1..T (index t - 1), float64, exactly as src/core/schedule.c computes it."""
    f = np.arange(T, dtype=np.float64) / (T - 1)
    beta = 1e-4 + f * (0.02 - 1e-4)
    return np.cumprod(1.0 - beta)


def tweedie(model, xt, t, abar):
    """x0 estimate (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) with the model at index t - 1."""
    a = abar[t - 1]
    idx = th.full((xt.shape[0],), t - 1, dtype=th.long, device=xt.device)
    eps = model(xt, idx)[:, :xt.shape[1]]
    return (xt - math.sqrt(1 - a) * eps) / math.sqrt(a)


def evaluate(model, train, test, abar, device, levels=(25, 100, 250, 500, 750), n=1000, seed=1):
    """Held-out denoising MSE per pixel of the model's x0 estimate and of the Wiener denoiser
    mu + sqrt(a) C (a C + (1 - a) I)^{-1} (x_t - sqrt(a) mu), C and mu from the training images."""
    d = train[0].size
    flat = train.reshape(len(train), d).astype(np.float64)
    mu = flat.mean(axis=0)
    cov = np.cov(flat, rowvar=False)
    lam, V = np.linalg.eigh(cov)
    lam = np.clip(lam, 0, None)
    g = th.Generator().manual_seed(seed)
    x0 = th.from_numpy(test[:n])
    noise = th.randn(x0.shape, generator=g)
    rows = []
    for t in levels:
        a = abar[t - 1]
        xt = math.sqrt(a) * x0 + math.sqrt(1 - a) * noise
        with th.no_grad():
            est = th.cat([tweedie(model, xt[i:i + 250].to(device), t, abar).cpu() for i in range(0, n, 250)])
        mse_model = float(((est - x0) ** 2).mean())
        r = xt.reshape(n, d).double().numpy() - math.sqrt(a) * mu
        gain = math.sqrt(a) * lam / (a * lam + (1 - a))
        wiener = mu + ((r @ V) * gain) @ V.T
        mse_wiener = float(((wiener - x0.reshape(n, d).double().numpy()) ** 2).mean())
        rows.append(dict(t=t, noise_std=math.sqrt((1 - a) / a), mse_model=mse_model, mse_wiener=mse_wiener))
    return rows


def load_weights(path, device):
    """The EMA model saved in a weights file (dpsolve's format) as a PyTorch module in eval mode."""
    with h5py.File(path, "r") as f:
        _, weights = unet_h5.read_group(f["prior"])
    model = unet.create(FMNIST32).to(device).eval()
    model.load_state_dict({k: th.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model


def write_evaluation(model, abar, device, path, n):
    rows = evaluate(model, fmnist.load_images("train"), fmnist.load_images("t10k"), abar, device, n=n)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"held-out denoising MSE per pixel ({n} test images), written to {path}:")
    for r in rows:
        print(f"  t = {r['t']:4d} (noise std {r['noise_std']:.3f}): model {r['mse_model']:.5f}, "
              f"Wiener {r['mse_wiener']:.5f}")


def plot_loss(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    step = [int(r["step"]) for r in rows]
    loss = [float(r["loss"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(step, loss, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("training step (batch 64)")
    ax.set_ylabel("eps MSE (mean over 50 steps)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    print(f"wrote {png_path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="data/models/fmnist32.h5", help="weights file to write (must not exist)")
    p.add_argument("--minutes", type=float, default=60.0, help="training time budget")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time only)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200, help="linear learning-rate warm-up, in steps")
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay of the saved weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss-csv", default=None, help="write step, loss, elapsed seconds (default: OUT-loss.csv)")
    p.add_argument("--evaluate", action="store_true", help="held-out denoising error against the Wiener denoiser")
    p.add_argument("--eval-csv", default=None, help="where --evaluate writes its table (default: OUT-eval.csv)")
    p.add_argument("--state", default=None, help="PyTorch training state (model, EMA, optimiser, step) to save "
                   "at the end, and to continue from with --resume")
    p.add_argument("--resume", action="store_true", help="continue from --state (the loss CSV is appended to)")
    p.add_argument("--evaluate-only", action="store_true", help="no training: evaluate the weights in --out")
    p.add_argument("--eval-images", type=int, default=1000, help="test images of the evaluation (the first)")
    p.add_argument("--plot", default=None, help="draw the loss CSV into this PNG (python3-matplotlib)")
    args = p.parse_args(argv)
    th.set_num_threads(os.cpu_count())  # Debian's torch starts with one thread
    device = "cuda" if th.cuda.is_available() else "cpu"
    loss_path = args.loss_csv or os.path.splitext(args.out)[0] + "-loss.csv"
    eval_path = args.eval_csv or os.path.splitext(args.out)[0] + "-eval.csv"
    if args.evaluate_only:
        write_evaluation(load_weights(args.out, device), abar_table(), device, eval_path, args.eval_images)
        if args.plot:
            plot_loss(loss_path, args.plot)
        return
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out} exists: remove it first (a trained model is never overwritten)")
    if args.resume and not (args.state and os.path.exists(args.state)):
        raise SystemExit("--resume needs the --state file of an earlier run")

    th.manual_seed(args.seed)
    train = fmnist.load_images("train")
    data = th.from_numpy(train).to(device)
    abar = abar_table()
    sqrt_ab = th.tensor(np.sqrt(abar), dtype=th.float32, device=device)
    sqrt_1mab = th.tensor(np.sqrt(1 - abar), dtype=th.float32, device=device)

    model = unet.create(FMNIST32).to(device)
    ema = copy.deepcopy(model).eval()
    for q in ema.parameters():
        q.requires_grad_(False)
    nparams = sum(q.numel() for q in model.parameters())
    opt = th.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = th.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / args.warmup))
    print(f"training FMNIST32 ({nparams} parameters) on {device}, batch {args.batch}, {args.minutes} min", flush=True)

    step, window, before = 0, [], 0.0
    if args.resume:
        st = th.load(args.state, map_location=device)
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        th.set_rng_state(st["rng"])
        step, before = st["step"], st["elapsed"]
        print(f"resumed at step {step} ({before:.0f} s of training before)", flush=True)
    start = time.time() - before
    budget = before + 60 * args.minutes
    with open(loss_path, "a" if args.resume else "w", newline="") as fcsv:
        out = csv.writer(fcsv)
        if not args.resume:
            out.writerow(["step", "loss", "elapsed_s"])
        while time.time() - start < budget and (not args.max_steps or step < args.max_steps):
            idx = th.randint(0, len(data), (args.batch,), device=device)
            x0 = data[idx]
            flip = th.rand(args.batch, device=device) < 0.5
            x0 = th.where(flip[:, None, None, None], x0.flip(-1), x0)
            t = th.randint(0, T, (args.batch,), device=device)  # the 0-based index t - 1
            eps = th.randn_like(x0)
            xt = sqrt_ab[t, None, None, None] * x0 + sqrt_1mab[t, None, None, None] * eps
            loss = ((model(xt, t) - eps) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            th.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            with th.no_grad():
                for qe, qm in zip(ema.parameters(), model.parameters()):
                    qe.mul_(args.ema).add_(qm, alpha=1 - args.ema)
            step += 1
            window.append(float(loss))
            if step % 50 == 0:
                out.writerow([step, f"{np.mean(window):.6f}", f"{time.time() - start:.1f}"])
                fcsv.flush()
                print(f"step {step}: loss {np.mean(window):.4f} ({time.time() - start:.0f} s)", flush=True)
                window = []
    elapsed = time.time() - start
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)
    if args.state:
        th.save(dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(),
                     sched=sched.state_dict(), rng=th.get_rng_state(), step=step, elapsed=elapsed), args.state)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = args.out + ".partial"
    with h5py.File(partial, "w") as f:
        g = f.create_group("prior")
        unet_h5.write_group(g, FMNIST32, {k: v.cpu() for k, v in ema.state_dict().items()}, compress=True)
        f.attrs["trained_on"] = np.bytes_("Fashion-MNIST train (60000), padded to 32x32 with -1, range [-1, 1]")
        f.attrs["training_steps"] = np.int64(step)
        f.attrs["training_batch"] = np.int32(args.batch)
        f.attrs["training_seconds"] = np.float64(elapsed)
        f.attrs["ema_decay"] = np.float64(args.ema)
        f.attrs["schedule"] = np.bytes_("linear, T = 1000, beta 1e-4 .. 0.02; model index t - 1")
    os.replace(partial, args.out)
    print(f"wrote {args.out}: {step} steps of batch {args.batch} in {elapsed:.0f} s", flush=True)

    if args.evaluate:
        write_evaluation(ema, abar, device, eval_path, args.eval_images)
    if args.plot:
        plot_loss(loss_path, args.plot)


if __name__ == "__main__":
    main()
