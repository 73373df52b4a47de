#!/usr/bin/python3
# Run from the repository root with python3-scipy installed:
#   /usr/bin/python3 tests/unit/make_blur_fixture.py
# writes tests/unit/fixtures/blur_scipy.h5: images, kernels and their correlations by scipy.ndimage (mode
# 'mirror' = torch's reflect padding without edge repetition; mode 'wrap' = circular, cross-checked here with
# numpy's FFT), and the reference DPS code's default kernel (scipy.ndimage.gaussian_filter of a centred 61 x 61
# delta, sigma 3). Made once here; unit_operator_images needs only the file.
import h5py, numpy as np, scipy
from scipy import ndimage

rng = np.random.default_rng(12)
cases = [("reflect_small", "mirror", (2, 7, 9), (5, 3)),
         ("reflect_kernel_larger_than_image", "mirror", (1, 4, 5), (9, 11)),
         ("circular_small", "wrap", (2, 6, 8), (5, 3)),
         ("circular_odd", "wrap", (1, 5, 7), (3, 7))]
with h5py.File("tests/unit/fixtures/blur_scipy.h5", "w") as f:
    f.attrs["made_by"] = np.bytes_(f"scipy {scipy.__version__}: ndimage.correlate(x[c], kernel, mode) per channel; "
                                   "ndimage.gaussian_filter(delta, 3.0) for the default kernel")
    for name, mode, shape, ks in cases:
        x = rng.standard_normal(shape)
        k = rng.uniform(0, 1, ks)
        y = np.stack([ndimage.correlate(x[c], k, mode=mode) for c in range(shape[0])])
        if mode == "wrap":  # the same by the FFT: the kernel folded onto the torus, y = ifft(fft(x) conj(fft(g)))
            g = np.zeros(shape[1:])
            for a in range(ks[0]):
                for b in range(ks[1]):
                    g[(a - ks[0] // 2) % shape[1], (b - ks[1] // 2) % shape[2]] += k[a, b]
            yf = np.real(np.fft.ifft2(np.fft.fft2(x) * np.conj(np.fft.fft2(g))))
            assert np.max(np.abs(yf - y)) < 1e-12 * np.max(np.abs(y)), name
        grp = f.create_group(name)
        grp["x"], grp["kernel"], grp["y"] = x, k, y
        grp.attrs["mode"] = np.bytes_("reflect" if mode == "mirror" else "circular")
        print(name, shape, ks, float(np.max(np.abs(y))))
    delta = np.zeros((61, 61)); delta[30, 30] = 1
    f["gaussian_61_sigma3"] = ndimage.gaussian_filter(delta, sigma=3.0)
