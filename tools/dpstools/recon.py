"""Classical reconstructions for the medical operators (methods.md section 8), used by the baselines
(dpstools.baselines): the mri operator in numpy (tested equal to dpsolve's), filtered backprojection for
parallel-beam ct (scikit-image's iradon, mapped to our geometry), and a total-variation reconstruction
argmin_x 1/2 |A x - y|^2 + lam TV(x) for any operator whose A^T A fits in memory as a dense matrix (small images).
"""

import numpy as np


# ----------------------------------------------------------------------------------------------- mri in numpy

def fft2c(z):
    """methods.md's F: the centred orthonormal 2-D DFT (fastMRI's fft2c) over the last two axes."""
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(z, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def ifft2c(k):
    """F^H, the inverse of fft2c."""
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


class MRI:
    """A = M F S as dpsolve defines it: rows x [N, C H W] (C = 1 a real image, C = 2 real and imaginary parts)
    to rows y [N, 2 coils nsampled]: coil by coil, the sampled entries of F S_c x in row-major order, each as the
    pair (real, imaginary). adjoint is A^T for the real inner product (S^H F^H M^T y, its real part for real
    images). mask [H, W]; maps [coils, H, W] complex or None (one coil, S = 1)."""

    def __init__(self, mask, maps, shape):
        self.C, self.H, self.W = shape
        if self.C not in (1, 2):
            raise SystemExit(f"mri: data shape {shape}: (1, H, W) or (2, H, W) expected")
        self.idx = np.flatnonzero(np.asarray(mask).reshape(-1) != 0)
        self.maps = np.ones((1, self.H, self.W), dtype=complex) if maps is None else np.asarray(maps, dtype=complex)
        self.coils = self.maps.shape[0]
        self.m = 2 * self.coils * len(self.idx)

    def _image(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.C, self.H, self.W)
        return x[:, 0] + (1j * x[:, 1] if self.C == 2 else 0)

    def apply(self, x):
        z = self._image(x)  # [N, H, W]
        k = fft2c(z[:, None] * self.maps[None]).reshape(len(z), self.coils, -1)[:, :, self.idx]
        return np.stack([k.real, k.imag], axis=-1).reshape(len(z), -1)

    def adjoint(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1, self.coils, len(self.idx), 2)
        k = np.zeros((len(y), self.coils, self.H * self.W), dtype=complex)
        k[:, :, self.idx] = y[..., 0] + 1j * y[..., 1]
        z = (np.conj(self.maps)[None] * ifft2c(k.reshape(len(y), self.coils, self.H, self.W))).sum(axis=1)
        out = np.stack([z.real, z.imag], axis=1) if self.C == 2 else z.real[:, None]
        return out.reshape(len(y), -1)


# ----------------------------------------------------------------------------------------------- ct: FBP

FBP_FILTERS = ("ramp", "shepp-logan", "cosine", "hamming", "hann")


def fbp_parallel(sino, angles, det_spacing, H, W, filter_name="ramp"):
    """Filtered backprojection of one parallel-beam sinogram sino [n_angles, D] (dpsolve's ct layout and geometry,
    methods.md section 8) by scikit-image's iradon, on the H x W pixel grid of dpsolve.

    The mapping (checked against our projector in tests/tools/test_bench_medical.py): iradon's angle is ours in
    degrees, and its detector coordinate tau (bins of 1 pixel, j - n // 2 for bin j of n = ceil(hypot(H, W))) is
    measured from its rotation centre, the pixel (H // 2, W // 2), which lies at (1/2, -1/2) in our coordinates for
    even sizes (our centre is the corner between the four middle pixels): our detector coordinate is then
    t = tau + <c, u> = tau + (cos theta) / 2 - (sin theta) / 2. Each of our projections is resampled at those t by
    a band-limited (trigonometric) interpolation, exact for a band-limited projection (no interpolation
    smoothing; values beyond our detector are 0); line integrals do not depend on the bin width, so other bin
    widths are resampled the same way. iradon weighs every view by pi / (2 n_angles), i.e. assumes the views
    cover 180 degrees; for a limited range the result is multiplied by range / 180 (range: n_angles times the
    spacing of the angles, the input tool's sets being equally spaced)."""
    from skimage.transform import iradon
    sino = np.asarray(sino, dtype=np.float64)
    angles = np.asarray(angles, dtype=np.float64)
    nang, D = sino.shape
    n = int(np.ceil(np.hypot(H, W)))
    if H != W:
        raise SystemExit(f"fbp_parallel: square images only (iradon's grid), not {H}x{W}")
    ox, oy = (0.5, 0.5) if W % 2 == 0 else (0.0, 0.0)  # iradon's centre pixel in our coordinates: (ox, -oy)
    P = int(2 ** np.ceil(np.log2(2 * D + 8)))  # zero padding: the interpolant does not wrap
    out = np.empty((n, nang))
    for i, th in enumerate(angles):
        t = (np.arange(n) - n // 2) + ox * np.cos(th) - oy * np.sin(th)
        out[:, i] = _fourier_sample(sino[i], t / det_spacing + (D - 1) / 2, P)
    rec = iradon(out, theta=np.rad2deg(angles), output_size=H, filter_name=filter_name, circle=False)
    span = nang * (angles[1] - angles[0]) if nang > 1 else np.pi
    return rec * (span / np.pi)


def _fourier_sample(v, pos, P):
    """The trigonometric interpolant of v (zero-padded to P) at the real positions pos (0 beyond the first and last entries)."""
    k = np.fft.fftfreq(P) * P
    spec = np.fft.fft(v, P)
    vals = (np.exp(2j * np.pi * np.outer(pos, k) / P) @ spec).real / P
    return np.where((pos >= 0) & (pos <= len(v) - 1), vals, 0.0)


# ----------------------------------------------------------------------------------------------- TV

def grad(u):
    """Forward differences with Neumann boundary (0 at the last row/column) of images u [..., H, W]."""
    gx, gy = np.zeros_like(u), np.zeros_like(u)
    gx[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
    gy[..., :-1] = u[..., 1:] - u[..., :-1]
    return gx, gy


def grad_t(px, py):
    """The adjoint of grad (minus the divergence)."""
    out = np.zeros_like(px)
    out[..., :-1, :] -= px[..., :-1, :]
    out[..., 1:, :] += px[..., :-1, :]
    out[..., :-1] -= py[..., :-1]
    out[..., 1:] += py[..., :-1]
    return out


def gradient_matrix(H, W):
    """G [2 H W, H W] (dense): grad as a matrix, rows gx then gy."""
    eye = np.eye(H * W).reshape(H * W, H, W)
    gx, gy = grad(eye)
    return np.concatenate([gx.reshape(H * W, -1), gy.reshape(H * W, -1)], axis=1).T


class TV:
    """argmin_x 1/2 |A x - y|^2 + lam TV(x), TV(x) = sum_pixels |grad x| (isotropic, per channel), by ADMM with
    the split z = grad x (Boyd et al., Found. Trends Mach. Learn. 3, 2011, section 6.4.1): the x-update solves
    (A^T A + rho G^T G) x = A^T y + rho G^T (z - u) with one dense Cholesky factor made once per operator (hence
    small images: d = C H W up to a few thousand), z is the isotropic group shrinkage of G x + u by lam / rho.
    No Debian-packaged Python library offers TV with a general operator (scikit-image's TV is denoising only).
    ata: A^T A [d, d]; shape (C, H, W). Many images at once (rows)."""

    def __init__(self, ata, shape, rho):
        import scipy.linalg
        self.C, self.H, self.W = shape
        G = gradient_matrix(self.H, self.W)
        gtg = np.kron(np.eye(self.C), G.T @ G)
        self.rho = rho
        self.factor = scipy.linalg.cho_factor(ata + rho * gtg + 1e-10 * np.eye(len(ata)))

    def solve(self, aty, lam, iters=300):
        import scipy.linalg
        n = len(aty)
        shp = (n, self.C, self.H, self.W)
        zx, zy = np.zeros(shp), np.zeros(shp)
        ux, uy = np.zeros(shp), np.zeros(shp)
        x = None
        for _ in range(iters):
            rhs = aty + self.rho * grad_t(zx - ux, zy - uy).reshape(n, -1)
            x = scipy.linalg.cho_solve(self.factor, rhs.T).T
            gx, gy = grad(x.reshape(shp))
            vx, vy = gx + ux, gy + uy
            norm = np.sqrt(vx * vx + vy * vy)
            shrink = np.maximum(0.0, 1.0 - (lam / self.rho) / np.maximum(norm, 1e-300))
            zx, zy = shrink * vx, shrink * vy
            ux, uy = vx - zx, vy - zy
        return x


def tv_objective(A, y, x, shape, lam):
    """1/2 |A x - y|^2 + lam TV(x) of rows x (A: a function of rows)."""
    gx, gy = grad(np.asarray(x).reshape(-1, *shape))
    return 0.5 * ((A(x) - y) ** 2).sum(axis=1) + lam * np.sqrt(gx * gx + gy * gy).reshape(len(x), -1).sum(axis=1)
