#!/usr/bin/python3
# Run from the repository root with python3-skimage installed:
#   /usr/bin/python3 tests/tools/make_ssim_fixture.py
# writes tests/tools/fixtures/ssim_skimage.h5: image pairs and scikit-image's SSIM/PSNR of them (made once here;
# the test needs only numpy and h5py)
import h5py, numpy as np, skimage
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
rng = np.random.default_rng(7)
pairs = []
base = rng.uniform(-1, 1, (32, 32))
smooth = np.cumsum(np.cumsum(rng.standard_normal((40, 28)), 0), 1); smooth = 2 * (smooth - smooth.min()) / np.ptp(smooth) - 1
pairs.append(("noise_small", base, np.clip(base + 0.05 * rng.standard_normal(base.shape), -1, 1)))
pairs.append(("noise_large", base, base + 0.5 * rng.standard_normal(base.shape)))
pairs.append(("smooth_shift", smooth, smooth + 0.1))
pairs.append(("smooth_scaled", smooth, 0.6 * smooth + 0.05 * rng.standard_normal(smooth.shape)))
pairs.append(("unrelated", base, rng.uniform(-1, 1, (32, 32))))
with h5py.File("tests/tools/fixtures/ssim_skimage.h5", "w") as f:
    f.attrs["made_by"] = np.bytes_(f"scikit-image {skimage.__version__}: structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2), peak_signal_noise_ratio(data_range=2)")
    for name, ref, x in pairs:
        g = f.create_group(name)
        g["ref"] = ref; g["x"] = x
        g.attrs["ssim"] = structural_similarity(ref, x, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2.0)
        g.attrs["psnr"] = peak_signal_noise_ratio(ref, x, data_range=2.0)
        print(name, g.attrs["ssim"], g.attrs["psnr"])
