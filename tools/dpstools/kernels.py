"""The image protocol's blur kernels and box geometry (methods.md section 8), and their scaling to other sizes.

At 256 x 256 the protocol uses a 61 x 61 Gaussian of standard deviation 3.0, a 61 x 61 motion-blur kernel of
intensity 0.5 and a 128 x 128 box 16 pixels from the edges. At another size H every length scales by H / 256
(scaled_kernel_size, scaled_length): at 32 x 32 the kernels are 7 x 7, the Gaussian's sigma is 0.375, the box
16 x 16 with a 2-pixel margin.
"""

import numpy as np

PROTOCOL_SIZE = 256
KERNEL_SIZE = 61
GAUSSIAN_SIGMA = 3.0
MOTION_INTENSITY = 0.5
BOX = 128
BOX_MARGIN = 16


def scaled_kernel_size(image_size, size=KERNEL_SIZE):
    """The odd size nearest to size * image_size / 256 (at least 3)."""
    s = size * image_size / PROTOCOL_SIZE
    return max(3, int(2 * np.floor((s - 1) / 2 + 0.5) + 1))


def scaled_length(image_size, length):
    return length * image_size / PROTOCOL_SIZE


def gaussian(size=KERNEL_SIZE, sigma=GAUSSIAN_SIGMA):
    """The reference code's kernel: scipy.ndimage.gaussian_filter of a centred size x size delta (its defaults:
    mode 'reflect', truncate 4), i.e. k = w w^T with w the 1-d filter's response, proportional to
    exp(-t^2 / (2 sigma^2)) for |t| <= int(4 sigma + 0.5), its taps beyond the kernel's edge folded back onto it
    (none for 61 x 61 and sigma 3: then w is 0 beyond 12 pixels from the centre)."""
    from scipy.ndimage import gaussian_filter
    if size % 2 == 0 or size < 1 or not sigma > 0:
        raise SystemExit(f"Gaussian kernel {size}x{size}, sigma {sigma}: an odd size and a positive sigma needed")
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    return gaussian_filter(delta, sigma)


# ---- motion blur -----------------------------------------------------------------------------------------------
# A camera-shake kernel of the kind the reference protocol draws (the `motionblur` package that the DPS code uses,
# Kernel(size=(61, 61), intensity=0.5)): a random trajectory, drawn as a thin line and normalised to sum 1. This is
# our own generator built from that description (random step lengths, a heading that turns by random angles whose
# size and frequency of reversal grow with the intensity, a random overall direction), not a copy of its code;
# its kernels are of the same kind, not the same numbers.


def motion_trajectory(size, intensity, rng, steps=None):
    """Points [n, 2] (row, column offsets from the kernel centre, in pixels) of a random camera trajectory that
    fits inside a size x size kernel. intensity in [0, 1]: 0 a straight line; higher: longer and more curved.
    Path length: L = 0.75 (size - 1) (0.5 + 0.5 u1 + intensity^2 u2) (u uniform), capped so that the centred
    path fits; heading turns each step by a triangular(0, intensity m, m) angle, m ~ U(0, intensity pi / 4), whose
    sign flips with probability intensity / 4 (a shake back)."""
    if not 0 <= intensity <= 1:
        raise SystemExit(f"motion blur intensity {intensity}: must lie in [0, 1]")
    n = steps if steps is not None else int(rng.integers(16, 48))
    length = 0.75 * (size - 1) * (0.5 + 0.5 * rng.uniform() + intensity ** 2 * rng.uniform())
    step = rng.beta(2.0, 5.0, size=n)
    step *= length / step.sum()
    m = rng.uniform(0, intensity * np.pi / 4) if intensity > 0 else 0.0
    turn = rng.triangular(0, intensity * m, m, size=n) if m > 0 else np.zeros(n)
    sign = np.where(rng.uniform(size=n) < intensity / 4, -1.0, 1.0).cumprod()
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(sign * turn)
    z = np.concatenate([[0], np.cumsum(step * np.exp(1j * heading))])
    # centre the path on its mid-point by arc length, and shrink it if it does not fit the kernel
    z -= 0.5 * (z.real.max() + z.real.min()) + 0.5j * (z.imag.max() + z.imag.min())
    half = (size - 1) / 2 - 0.5
    extent = max(np.abs(z.real).max(), np.abs(z.imag).max(), 1e-12)
    if extent > half:
        z *= half / extent
    return np.stack([z.imag, z.real], axis=1)


def rasterize(points, size, oversample=8, width=0.5):
    """The polyline through points (row, column offsets from the centre) drawn into a size x size kernel: points
    every 1/(4 oversample) pixel along each segment, splatted bilinearly on a grid oversample times finer, smoothed
    by a Gaussian of `width` pixels (the line's thickness), averaged back to size x size, normalised to sum 1."""
    from scipy.ndimage import gaussian_filter
    fine = size * oversample
    canvas = np.zeros((fine, fine))
    pts = [points[:1]]
    for a, b in zip(points[:-1], points[1:]):
        k = max(2, int(np.ceil(np.hypot(*(b - a)) * 4 * oversample)))
        pts.append(a + (b - a) * (np.arange(1, k + 1) / k)[:, None])
    p = np.concatenate(pts) * oversample + (fine - 1) / 2  # fine-grid coordinates
    r0, c0 = np.floor(p[:, 0]).astype(int), np.floor(p[:, 1]).astype(int)
    fr, fc = p[:, 0] - r0, p[:, 1] - c0
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):
        rr, cc = np.clip(r0 + dr, 0, fine - 1), np.clip(c0 + dc, 0, fine - 1)
        np.add.at(canvas, (rr, cc), w)
    canvas = gaussian_filter(canvas, width * oversample, mode="constant")
    k = np.maximum(canvas.reshape(size, oversample, size, oversample).sum(axis=(1, 3)), 0.0)
    return k / k.sum()


def motion(size=KERNEL_SIZE, intensity=MOTION_INTENSITY, rng=None):
    """A size x size motion-blur kernel (nonnegative, sum 1) from a random trajectory (motion_trajectory)."""
    if size % 2 == 0 or size < 3:
        raise SystemExit(f"motion kernel {size}x{size}: an odd size of at least 3 needed")
    rng = rng if rng is not None else np.random.default_rng()
    # the line's thickness scales with the kernel, as the protocol's lines do (1/61 of the kernel at 256)
    return rasterize(motion_trajectory(size, intensity, rng), size, width=max(0.25, size / 61))


# ---- box inpainting --------------------------------------------------------------------------------------------


def protocol_box(H, W, rng):
    """The protocol's box at H x W: 128 x 128 with a 16-pixel margin at 256 x 256 (the reference code's
    random_sq_bbox), every length scaled by H / 256 (W / 256 across) and rounded; the corner is drawn uniformly so
    that the box keeps the margin on every side. Returns (row0, col0, height, width)."""
    bh, bw = int(round(scaled_length(H, BOX))), int(round(scaled_length(W, BOX)))
    mh, mw = int(round(scaled_length(H, BOX_MARGIN))), int(round(scaled_length(W, BOX_MARGIN)))
    if bh < 1 or bw < 1 or H - 2 * mh < bh or W - 2 * mw < bw:
        raise SystemExit(f"the protocol's box does not fit a {H}x{W} image")
    return (int(rng.integers(mh, H - mh - bh + 1)), int(rng.integers(mw, W - mw - bw + 1)), bh, bw)
