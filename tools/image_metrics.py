"""PSNR and SSIM of images, as the image literature computes them.

SSIM is Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 2004): an 11x11 Gaussian window of standard deviation 1.5
(normalised to sum 1), K1 = 0.01, K2 = 0.03, local statistics with population (1/N) weights, averaged over the
positions where the window fits inside the image ("valid"); a multi-channel image averages its channels.
This is scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=...), against which tests/tools/test_image_metrics.py checks it.
"""

import numpy as np


def gaussian_window(size=11, sigma=1.5):
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-r * r / (2 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img, g):
    """Separable correlation with the 1-d window g along both axes, valid positions only."""
    k = len(g)
    rows = np.lib.stride_tricks.sliding_window_view(img, k, axis=0) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=1) @ g


def ssim(x, ref, data_range, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Mean SSIM of x against ref, both (H, W) or (C, H, W); data_range: max - min of the image range
    (2 for [-1, 1])."""
    x = np.asarray(x, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"ssim: shapes {x.shape} and {ref.shape} differ")
    if x.ndim == 3:
        return float(np.mean([ssim(a, b, data_range, size, sigma, k1, k2) for a, b in zip(x, ref)]))
    if x.ndim != 2 or min(x.shape) < size:
        raise ValueError(f"ssim: an image of shape {x.shape} is smaller than the {size}x{size} window")
    g = gaussian_window(size, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mx, my = _filter_valid(x, g), _filter_valid(ref, g)
    vx = _filter_valid(x * x, g) - mx * mx
    vy = _filter_valid(ref * ref, g) - my * my
    cxy = _filter_valid(x * ref, g) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def psnr(x, ref, data_range):
    """10 log10(data_range^2 / MSE); inf for identical images."""
    mse = float(np.mean((np.asarray(x, dtype=np.float64) - np.asarray(ref, dtype=np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)
