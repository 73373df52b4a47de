"""Where the images come from: Fashion-MNIST (Debian's dataset-fashion-mnist), a folder of PNG/JPEG images, or a
numpy .npy array. Each returns x [N, C, H, W] float64 and the names of the images."""

import gzip
import os

import numpy as np

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_fmnist(split, directory=FMNIST_DIR):
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


def fmnist(first, count, split="t10k"):
    """Test images first .. first + count - 1 (the shipped model never saw the test split)."""
    x = load_fmnist(split)
    if not (0 <= first and count >= 1 and first + count <= len(x)):
        raise SystemExit(f"--first {first} --images {count}: the {split} split has {len(x)} images")
    return x[first:first + count].astype(np.float64), [f"fashion-mnist-{split}-{i}" for i in range(first, first + count)]


def image_to_array(img, size, channels):
    """A PIL image centre-cropped to a square (the shorter side), resized to size x size (PIL's bicubic filter,
    which antialiases when it shrinks), as [C, size, size] in [-1, 1] (channels 3: RGB; 1: luminance)."""
    from PIL import Image
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    img = img.convert("RGB" if channels == 3 else "L").crop((left, top, left + s, top + s))
    img = img.resize((size, size), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float64) / 127.5 - 1.0
    return a.transpose(2, 0, 1) if channels == 3 else a[None]


def folder(directory, size, channels=3, first=0, count=None):
    """The PNG and JPEG files of `directory` in sorted name order (from the first-th, count of them), each
    centre-cropped and resized to size x size; the names are the file names."""
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit("image folders need PIL: apt-get install python3-pil (Debian)")
    if not os.path.isdir(directory):
        raise SystemExit(f"--folder {directory}: not a directory")
    names = sorted(n for n in os.listdir(directory) if n.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise SystemExit(f"--folder {directory}: no .png, .jpg or .jpeg files")
    names = names[first:first + count if count else None]
    if not names:
        raise SystemExit(f"--folder {directory}: --first {first} is past its {len(os.listdir(directory))} files")
    out = []
    for n in names:
        try:
            with Image.open(os.path.join(directory, n)) as img:
                out.append(image_to_array(img, size, channels))
        except OSError as e:
            raise SystemExit(f"{os.path.join(directory, n)}: not a readable image ({e})")
    return np.stack(out), names


def array_file(path, data_shape=None, first=0, count=None):
    """An .npy array [N, C, H, W], [N, H, W] (one channel) or [N, d] (then data_shape (C, H, W) or (d,))."""
    x = np.load(path)
    if x.ndim == 2:
        shape = tuple(data_shape) if data_shape else (x.shape[1],)
        if int(np.prod(shape)) != x.shape[1]:
            raise SystemExit(f"{path}: rows of {x.shape[1]} entries, but --data-shape {shape} has {int(np.prod(shape))}")
        x = x.reshape((len(x),) + shape)
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim != 4:
        raise SystemExit(f"{path}: an array of shape {x.shape}; [N, C, H, W], [N, H, W] or [N, d] expected")
    x = np.asarray(x, dtype=np.float64)[first:first + count if count else None]
    if len(x) == 0:
        raise SystemExit(f"{path}: no rows from --first {first}")
    if not np.isfinite(x).all():
        raise SystemExit(f"{path}: non-finite values")
    return x, [f"{os.path.basename(path)}[{i}]" for i in range(first, first + len(x))]
