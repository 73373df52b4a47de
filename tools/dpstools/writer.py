"""The one writer of dpsolve's input format (docs/formats.md). Every tool that makes an input calls write_input;
each operator has its own function that fills the `/operator` group (add one here for a new operator type and
list it in OPERATORS). Strings are fixed-length ASCII attributes, as the C library reads them."""

import os

import h5py
import numpy as np


def _text(s):
    return np.bytes_(s)


def inpaint_mask(g, mask):
    """`inpaint` with a stored mask of 0 and 1 (1 observed): [d], or [H, W] / H W entries shared by the channels."""
    g.attrs["type"] = _text("inpaint")
    g["mask"] = np.asarray(mask, dtype=np.float64)


def inpaint_box(g, box):
    """`inpaint` with the shared mask that is 0 on the box (row0, col0, height, width)."""
    g.attrs["type"] = _text("inpaint")
    g.attrs["box"] = np.asarray(box, dtype=np.int64)


def blur(g, kernel=None, mode="reflect"):
    """`blur`: correlation with kernel [kh, kw] (both odd; None: dpsolve's default 61x61 Gaussian, sigma 3),
    boundary `reflect` or `circular`."""
    if mode not in ("reflect", "circular"):
        raise ValueError(f"blur mode {mode!r}: reflect or circular")
    g.attrs["type"] = _text("blur")
    g.attrs["mode"] = _text(mode)
    if kernel is not None:
        k = np.asarray(kernel, dtype=np.float64)
        if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError(f"blur kernel of shape {k.shape}: two odd dimensions needed")
        g["kernel"] = k


def sr(g, factor=4, kind="bicubic"):
    """`sr`: super-resolution by an integer factor, `bicubic` (the reference resizer) or `block` averaging."""
    if kind not in ("bicubic", "block"):
        raise ValueError(f"sr kind {kind!r}: bicubic or block")
    g.attrs["type"] = _text("sr")
    g.attrs["kind"] = _text(kind)
    g.attrs["factor"] = np.int64(factor)


def cs(g, matrix):
    """`cs`: a dense matrix [m, d]."""
    g.attrs["type"] = _text("cs")
    g["matrix"] = np.asarray(matrix, dtype=np.float64)


def chain(g, parts):
    """`chain` A = A_k ... A_1: parts is a list of functions g -> None, applied first to last."""
    g.attrs["type"] = _text("chain")
    g.attrs["parts"] = np.int64(len(parts))
    for i, fill in enumerate(parts):
        fill(g.create_group(f"part{i}"))


def matrix(g, A):
    """`matrix`: a sparse m x n system matrix A (anything scipy.sparse.csr_matrix accepts, or a tuple
    (data, indices, indptr, shape)) in CSR form: attribute shape, data [nnz], indices [nnz] and indptr [m + 1]
    (int64). Repeated (row, column) pairs are summed by dpsolve, as by scipy."""
    if isinstance(A, tuple):
        data, indices, indptr, shape = A
    else:
        import scipy.sparse
        csr = scipy.sparse.csr_matrix(A)
        data, indices, indptr, shape = csr.data, csr.indices, csr.indptr, csr.shape
    g.attrs["type"] = _text("matrix")
    g.attrs["shape"] = np.array(shape, dtype=np.int64)
    g["data"] = np.asarray(data, dtype=np.float64)
    g["indices"] = np.asarray(indices, dtype=np.int64)
    g["indptr"] = np.asarray(indptr, dtype=np.int64)


def mri(g, mask, maps=None):
    """`mri` A = M F S: mask [H, W] of 0/1 in centred k-space (centre at (H // 2, W // 2)); maps: complex coil
    maps [coils, H, W], stored as [coils, H, W, 2] (real, imaginary); None: one coil, S = 1."""
    g.attrs["type"] = _text("mri")
    g["mask"] = np.asarray(mask, dtype=np.float64)
    if maps is not None:
        maps = np.asarray(maps, dtype=np.complex128)
        g["maps"] = np.stack([maps.real, maps.imag], axis=-1)


def ct(g, angles, det_count, det_spacing=1.0, source_distance=None, detector_distance=None, scale=None):
    """`ct` (Joseph's projector): parallel beam, or fan beam (flat detector) when source_distance is given;
    lengths in pixels, angles [n] in radians (ASTRA's conventions). scale: A = scale x Joseph's projector."""
    if (source_distance is None) != (detector_distance is None):
        raise ValueError("fan beam needs both source_distance and detector_distance")
    g.attrs["type"] = _text("ct")
    g.attrs["geometry"] = _text("parallel" if source_distance is None else "fan")
    g.attrs["det_count"] = np.int64(det_count)
    g.attrs["det_spacing"] = np.float64(det_spacing)
    if source_distance is not None:
        g.attrs["source_distance"] = np.float64(source_distance)
        g.attrs["detector_distance"] = np.float64(detector_distance)
    g["angles"] = np.asarray(angles, dtype=np.float64)
    if scale is not None:
        g.attrs["scale"] = np.float64(scale)


OPERATORS = {"inpaint_mask": inpaint_mask, "inpaint_box": inpaint_box, "blur": blur, "sr": sr, "cs": cs,
             "chain": chain, "matrix": matrix, "mri": mri, "ct": ct}


def write_input(out, *, x0=None, y=None, sigma_y, data_shape, operator, problem, data_range=None, seed=None,
                first_image=None, names=None, prior=None, force=False):
    """Writes the input file `out` (as out.partial, renamed when complete: an existing file is never replaced by a
    half-written one, and without force it is an error). x0 [N, d] and/or y [N, m]: without y, dpsolve run
    simulates y = A x0 + sigma_y n from its -seed. operator: a function filling the /operator group (above).
    names: one string per input (e.g. the image files), written as /names. prior: a function filling /prior."""
    if os.path.exists(out) and not force:
        raise SystemExit(f"{out} exists: remove it first")
    if x0 is None and y is None:
        raise ValueError("write_input needs x0 or y")
    if not (np.isfinite(sigma_y) and sigma_y > 0):
        raise SystemExit(f"sigma_y {sigma_y} must be positive and finite")
    shape = np.array(data_shape, dtype=np.int64)
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.ndim != 2 or x0.shape[1] != int(np.prod(shape)):
            raise SystemExit(f"x0 of shape {x0.shape}: rows of {int(np.prod(shape))} entries (data_shape "
                             f"{tuple(shape)}) expected")
        if not np.isfinite(x0).all():
            raise SystemExit("x0 holds non-finite values")
    partial = out + ".partial"
    with h5py.File(partial, "w") as f:
        if x0 is not None:
            f["x0"] = x0
        if y is not None:
            f["y"] = np.asarray(y, dtype=np.float64)
        operator(f.create_group("operator"))
        if prior is not None:
            prior(f.create_group("prior"))
        if names is not None:
            f["names"] = np.array([str(n) for n in names], dtype=h5py.string_dtype())
        f.attrs["sigma_y"] = np.float64(sigma_y)
        f.attrs["data_shape"] = shape
        if data_range is not None:
            f.attrs["data_range"] = np.asarray(data_range, dtype=np.float64)  # x0hat is clipped to it
        if seed is not None:
            f.attrs["seed"] = np.int64(seed)
        if first_image is not None:
            f.attrs["first_image"] = np.int64(first_image)  # input i is source image first_image + i
        f.attrs["problem"] = _text(problem)
    os.replace(partial, out)
