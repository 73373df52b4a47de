"""An image input as the benchmark and the demo read it (read_input: truth, measurement, A), and the classical,
non-learned baselines per operator type (BASELINES: inpainting, deblurring, super-resolution, MRI, CT), shared by
bench/images/score.py and the tasks demo (dpstools.report). Needs scikit-image (python3-skimage)."""

import h5py
import numpy as np

from . import cop, kernels, recon


def text(attr):
    return attr.decode() if isinstance(attr, bytes) else str(attr)


def read_input(path):
    """The truth, the measurement, the operator and the image indices of an input file. apply: A of rows [n, d]
    (blur and sr by dpsolve itself, $DPSOLVE or build/dpsolve: the C operator is the only definition of A)."""
    with h5py.File(path, "r") as f:
        x0, y = f["x0"][...], f["y"][...]
        g = f["operator"]
        op = text(g.attrs["type"])
        shape = tuple(int(v) for v in f.attrs["data_shape"])
        mask = kernel = None
        factor = 1
        extra = {}
        if op == "inpaint":
            if "mask" in g:
                mask = g["mask"][...]
            else:  # the box form: one mask shared by the channels
                r0, c0, bh, bw = (int(v) for v in g.attrs["box"])
                mask = np.ones(shape[1:])
                mask[r0:r0 + bh, c0:c0 + bw] = 0
            mask = np.broadcast_to(mask.reshape(-1, *shape[1:]), shape).reshape(-1)
            apply = (lambda x: x * mask)
            measured = mask != 0
        elif op == "cs":
            mat = g["matrix"][...]
            apply = (lambda x: x @ mat.T)
            measured = np.ones(mat.shape[0], dtype=bool)
        elif op in ("blur", "sr"):
            apply = (lambda x: cop.apply(cop.default_dpsolve(), path, np.atleast_2d(x)).reshape(np.shape(x)[:-1] + (-1,)))
            measured = np.ones(y.shape[1], dtype=bool)
            if op == "blur":
                kernel = g["kernel"][...] if "kernel" in g else kernels.gaussian()
            else:
                factor = int(g.attrs["factor"])
        elif op == "mri":  # numpy's A (dpstools.recon.MRI), tested equal to dpsolve's (tests/tools/test_bench_medical.py)
            maps = g["maps"][...] if "maps" in g else None
            extra["mri"] = recon.MRI(g["mask"][...], None if maps is None else maps[..., 0] + 1j * maps[..., 1], shape)
            apply = extra["mri"].apply
            measured = np.ones(y.shape[1], dtype=bool)
        elif op == "ct":  # A by dpsolve (dense, for the baselines, from dpsolve columnwise: dense_matrix)
            apply = (lambda x: cop.apply(cop.default_dpsolve(), path, np.atleast_2d(x)).reshape(np.shape(x)[:-1] + (-1,)))
            measured = np.ones(y.shape[1], dtype=bool)
            extra["ct"] = dict(geometry=text(g.attrs["geometry"]), angles=g["angles"][...],
                               det_count=int(g.attrs["det_count"]), det_spacing=float(g.attrs["det_spacing"]))
            # A = scale x Joseph (dpstools.make ct --normalise): the baselines work in Joseph's units, y / scale
            extra["unit"] = float(g.attrs.get("scale", 1.0))
        else:
            raise SystemExit(f"{path}: operator type {op!r}: score.py knows inpaint, cs, blur, sr, mri and ct (add its A here)")
        first = int(f.attrs.get("first_image", 0))
        sigma_y = float(f.attrs["sigma_y"])
    return dict(x0=x0, y=y, op=op, apply=apply, measured=measured, shape=shape, sigma_y=sigma_y, path=path,
                images=list(range(first, first + len(x0))), mask=mask, kernel=kernel, factor=factor, **extra)


def dense_matrix(inp):
    """A [m, d] of the input's operator, dense, by dpsolve itself (A of the d unit vectors; to rounding), kept in
    inp: for the baselines on small images (d = 1024 at 32 x 32: one dpsolve run of d inputs, a few seconds)."""
    if "dense" not in inp:
        if inp["op"] == "mri":
            inp["dense"] = inp["mri"].apply(np.eye(len(inp["x0"][0]))).T
        else:
            inp["dense"] = cop.apply(cop.default_dpsolve(), inp["path"], np.eye(len(inp["x0"][0]))).T
    return inp["dense"]


# ---- classical, non-learned baselines ------------------------------------------------------------------------

def tv_inpaint(y, mask, lam, iters=300):
    """Total-variation inpainting: argmin_x TV(x) + lam/2 sum_observed (x - y)^2, isotropic TV, by the
    Chambolle-Pock primal-dual algorithm (J. Math. Imaging Vis. 40, 2011, algorithm 1, theta = 1;
    tau = sigma = 1/sqrt(8) since ||grad||^2 <= 8). No Debian-packaged Python library offers TV inpainting
    (scikit-image's denoise_tv_chambolle has no mask), hence these few lines. y, mask: (H, W)."""
    def grad(u):
        gx, gy = np.zeros_like(u), np.zeros_like(u)
        gx[:-1] = u[1:] - u[:-1]
        gy[:, :-1] = u[:, 1:] - u[:, :-1]
        return gx, gy

    def div(px, py):  # -grad^T
        dx, dy = np.zeros_like(px), np.zeros_like(py)
        dx[0], dx[1:-1], dx[-1] = px[0], px[1:-1] - px[:-2], -px[-2]
        dy[:, 0], dy[:, 1:-1], dy[:, -1] = py[:, 0], py[:, 1:-1] - py[:, :-2], -py[:, -2]
        return dx + dy

    tau = sigma = 1 / np.sqrt(8)
    x = np.where(mask > 0, y, y[mask > 0].mean())
    xbar, px, py = x.copy(), np.zeros_like(x), np.zeros_like(x)
    for _ in range(iters):
        gx, gy = grad(xbar)
        px, py = px + sigma * gx, py + sigma * gy
        norm = np.maximum(1.0, np.sqrt(px * px + py * py))
        px, py = px / norm, py / norm
        xold = x
        v = x + tau * div(px, py)
        x = (v + tau * lam * mask * y) / (1 + tau * lam * mask)
        xbar = 2 * x - xold
    return x


# lam of the TV baseline: the best mean PSNR on Fashion-MNIST TRAINING images 0..31 under both masks at sigma_y
# 0.05 over lam in {5, 10, 20, 40, 80, 160} (bench/images/README.md); the test images never chose it.
TV_LAMBDA = 80.0


def baselines_inpaint(inp, i):
    """(name, function computing the estimate [C, H, W]) of the inpainting baselines for image i, per channel."""
    from skimage.restoration import inpaint_biharmonic
    c, h, w = inp["shape"]
    y, mask = inp["y"][i].reshape(c, h, w), inp["mask"].reshape(c, h, w)
    return [("zero-filled", lambda: y * mask),
            ("biharmonic", lambda: np.stack([inpaint_biharmonic(y[k], mask[k] == 0) for k in range(c)])),
            ("tv", lambda: np.stack([tv_inpaint(y[k], mask[k], TV_LAMBDA) for k in range(c)]))]


# balance of the Wiener baseline (scikit-image's wiener, Laplacian regulariser): the best mean PSNR on Fashion-MNIST
# TRAINING images 0..31 over {1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1} for the benchmark's Gaussian (7x7, sigma 1) and
# motion (7x7, intensity 0.5, seed 0) blurs at sigma_y 0.05, 3e-3 for both (22.54 and 25.75 dB; bench/images/README.md);
# the test images never chose it.
WIENER_BALANCE = 3e-3


def baselines_blur(inp, i):
    """Deconvolution baselines for image i: the blurred measurement itself, scikit-image's Wiener-Hunt filter
    (balance WIENER_BALANCE) and its unsupervised form (the balance estimated by a Gibbs sampler, seed 0). Both
    assume a periodic image and a convolution: our A correlates with the kernel, i.e. convolves with its flip."""
    from skimage.restoration import unsupervised_wiener, wiener
    c, h, w = inp["shape"]
    y = inp["y"][i].reshape(c, h, w)
    psf = inp["kernel"][::-1, ::-1]
    return [("blurred", lambda: y),
            ("wiener", lambda: np.stack([wiener(y[k], psf, WIENER_BALANCE, clip=False) for k in range(c)])),
            ("wiener-unsupervised", lambda: np.stack([unsupervised_wiener(y[k], psf, clip=False, random_state=0)[0]
                                                      for k in range(c)]))]


def baselines_sr(inp, i):
    """Upsampling baselines for image i: scikit-image's bicubic (order 3) and nearest-neighbour resize of y."""
    from skimage.transform import resize
    c, h, w = inp["shape"]
    f = inp["factor"]
    y = inp["y"][i].reshape(c, h // f, w // f)
    return [("bicubic", lambda: resize(y, (c, h, w), order=3, mode="symmetric", anti_aliasing=False)),
            ("nearest", lambda: resize(y, (c, h, w), order=0, mode="symmetric", anti_aliasing=False))]


# ---- MRI and CT -------------------------------------------------------------------------------------------------

# lam of the TV baselines (argmin 1/2 |A x - y|^2 + lam TV(x), dpstools.recon.TV): the best mean PSNR on
# Fashion-MNIST TRAINING images 0..31 (bench/images/tune_tv.py; y = A x + 0.05 n, n from seed 0) over
# {0.002, 0.005, 0.01, 0.02, 0.05, 0.1} averaged over both tasks of the operator: MRI (mri4, mri4-coils) 0.01
# (23.82 and 26.62 dB; 0.02 within 0.01 dB), CT (ct30, ct-limited) 0.02 (38.15 and 32.66 dB); the test images
# never chose them. ADMM_RHO: the ADMM penalty; TV_ITERS: its iterations (the objective at 300 is within 1e-4
# relative of that at 1000 on those images and lams).
TV_LAMBDA_MRI = 0.01
TV_LAMBDA_CT = 0.02
ADMM_RHO = {"mri": 0.1, "ct": 1.0}
TV_ITERS = 300
# the filter of the FBP baseline (iradon's filter_name): the best mean PSNR on the same training images over
# recon.FBP_FILTERS for both CT tasks: ramp (23.24 and 11.62 dB; shepp-logan 22.35 and 11.56)
FBP_FILTER = "ramp"


def tv_solver(inp):
    """The TV reconstruction's factor for the input's operator, made once and kept in inp."""
    if "tv" not in inp:
        A = dense_matrix(inp) / inp.get("unit", 1.0)  # in the operator's own units (ct --normalise: Joseph's)
        inp["tv"] = recon.TV(A.T @ A, inp["shape"], ADMM_RHO[inp["op"]])
    return inp["tv"]


def tv_baseline(inp, i, lam):
    u = inp.get("unit", 1.0)  # the same problem as without the scale: lam and ADMM's rho stay those tuned
    A = dense_matrix(inp) / u
    return tv_solver(inp).solve((A.T @ (inp["y"][i] / u))[None], lam, TV_ITERS)[0]


def zero_filled_mri(inp, y):
    """The zero-filled inverse FFT, coil-combined with the maps: S^H F^H M^T y / sum_c |S_c|^2 (the real part for
    real images), i.e. A^T y for maps normalised as ESPIRiT's and the simulated ones are."""
    op = inp["mri"]
    w = (np.abs(op.maps) ** 2).sum(axis=0).reshape(-1)
    w = np.where(w > 0, w, 1.0)
    x = op.adjoint(y[None])[0].reshape(op.C, -1) / w
    return x.reshape(-1)


def baselines_mri(inp, i):
    """MRI baselines for image i: the zero-filled inverse FFT (coil-combined) and SENSE-TV (TV with A = M F S, the
    maps included; for one coil plain TV-regularised least squares)."""
    return [("zero-filled", lambda: zero_filled_mri(inp, inp["y"][i])),
            ("tv", lambda: tv_baseline(inp, i, TV_LAMBDA_MRI))]


def baselines_ct(inp, i):
    """CT baselines for image i: filtered backprojection (parallel beam: scikit-image's iradon mapped to our
    geometry, recon.fbp_parallel; none for fan beam) and TV with our projector (dense, from dpsolve)."""
    g = inp["ct"]
    c, h, w = inp["shape"]
    out = []
    if g["geometry"] == "parallel":
        def fbp():
            sino = (inp["y"][i] / inp.get("unit", 1.0)).reshape(c, len(g["angles"]), g["det_count"])
            return np.stack([recon.fbp_parallel(sino[k], g["angles"], g["det_spacing"], h, w, FBP_FILTER)
                             for k in range(c)])
        out.append(("fbp", fbp))
    out.append(("tv", lambda: tv_baseline(inp, i, TV_LAMBDA_CT)))
    return out


BASELINES = {"inpaint": baselines_inpaint, "blur": baselines_blur, "sr": baselines_sr, "mri": baselines_mri,
             "ct": baselines_ct}
