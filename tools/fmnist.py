"""Fashion-MNIST as dpsolve's image tools use it: Debian's dataset-fashion-mnist, padded to 32x32, in [-1, 1]."""

import gzip
import os

import numpy as np

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"


def load_images(split, directory=FMNIST_DIR):
    """Fashion-MNIST `split` ('train' or 't10k') as float32 (n, 1, 32, 32) in [-1, 1], padded with -1 (the
    background, 0 in the original 8-bit images)."""
    path = os.path.join(directory, f"{split}-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: install Debian's dataset-fashion-mnist (scripts/setup.sh does)")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != 2051 or rows != 28 or cols != 28:
        raise SystemExit(f"{path}: not an idx3 file of 28x28 images (magic {magic}, {rows}x{cols})")
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 28, 28).astype(np.float32) / 127.5 - 1.0
    return np.pad(x, ((0, 0), (2, 2), (2, 2)), constant_values=-1.0)[:, None]
