"""The C operator, through dpsolve itself, so that dpsolve stays the only definition of A (methods.md section 8).

`dpsolve run` simulates y = A x0 + sigma_y n from an input's /x0 when it has no /y, with n from the run's -seed
and the input's index (docs/formats.md). simulate_y runs it on a copy of the input's operator and /x0 with a
stand-in prior (one standard Gaussian; the 2-step ddpm sampler ignores y, so the run costs 2 prior evaluations
per input) and returns the /y it used: exactly what `dpsolve run -seed K` on the input simulates. apply does the
same with sigma_y = 1e-300, which returns A x to rounding."""

import os
import subprocess
import tempfile

import h5py
import numpy as np


def default_dpsolve():
    """$DPSOLVE, else build/dpsolve of this checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("DPSOLVE") or os.path.join(here, "..", "..", "build", "dpsolve")


def _run(dpsolve, input_path, x, sigma_y, seed):
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if not os.access(dpsolve, os.X_OK):
        raise SystemExit(f"dpsolve {dpsolve} not found: build it (scripts/setup.sh) or give --dpsolve / DPSOLVE")
    with tempfile.TemporaryDirectory(prefix="dpstools-") as tmp:
        inp, out = os.path.join(tmp, "in.h5"), os.path.join(tmp, "out.h5")
        with h5py.File(input_path, "r") as src, h5py.File(inp, "w") as f:
            src.copy(src["operator"], f, "operator")
            shape = src.attrs["data_shape"]
            d = int(np.prod(shape))
            if x.shape[1] != d:
                raise SystemExit(f"{input_path}: data_shape {tuple(shape)} has {d} entries, the rows {x.shape[1]}")
            f.attrs["data_shape"] = shape
            f.attrs["sigma_y"] = np.float64(sigma_y)
            f["x0"] = x
            f["prior/weights"] = np.ones(1)
            f["prior/means"] = np.zeros((1, d))
            f["prior/variances"] = np.ones(1)
        r = subprocess.run([dpsolve, "run", "-input", inp, "-output", out, "-sampler_type", "ddpm", "-steps", "2",
                            "-samples", "1", "-seed", str(seed), "-run_view", "0", "-progress", "0"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{dpsolve} run on the operator of {input_path} failed (exit {r.returncode}):\n"
                             + (r.stderr or r.stdout).strip())
        with h5py.File(out, "r") as f:
            return f["y"][...]


def simulate_y(dpsolve, input_path, seed):
    """y = A x0 + sigma_y n as `dpsolve run -seed seed` simulates it for the input's /x0 and sigma_y."""
    with h5py.File(input_path, "r") as f:
        x0, sigma_y = f["x0"][...], float(f.attrs["sigma_y"])
    return _run(dpsolve, input_path, x0, sigma_y, seed)


def apply(dpsolve, input_path, x):
    """A x (rows of x [N, d]) by the input's operator, to rounding."""
    return _run(dpsolve, input_path, x, 1e-300, 0)
