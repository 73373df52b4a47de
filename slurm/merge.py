#!/usr/bin/env python3
"""Join the outputs of a job array that split one data set (dpsolve run -input_part i,n; slurm/array.sbatch)
into one output, exactly the output of a single run over every input: inputs keep their index in the input file,
so each part's rows are already those of the whole run; they are copied in order.

    slurm/merge.py -o out.h5 parts/part-*.h5 [--force]

Every part must be complete (attribute complete = 1) and come from the same run options; together they must cover
the inputs 0..N-1 without gap or overlap (attribute input_range). The result is written as out.h5.partial and
renamed when complete, with complete = 1 written last, like dpsolve's own outputs (docs/formats.md).
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np

COUNTERS = ("score_evaluations", "score_jvps", "score_vjps", "cg_solves", "cg_iterations", "draws_out_of_range")
SAME = ("version", "input", "sampler", "score_backend", "seed", "samples", "steps", "sigma_y", "conventions")


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def options_without_part(v):
    # the parts differ only in -input_part (and where their own files went)
    s = re.sub(r"-input_part \S+ ?", "", text(v))
    s = re.sub(r"-(output|checkpoint_every|checkpoint_interval|checkpoint|restart|batch|progress|run_view|include_path) ?(?!-)\S* ?", "", s)
    return s.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--force", action="store_true", help="replace an existing output")
    ap.add_argument("parts", nargs="+")
    a = ap.parse_args()
    if os.path.exists(a.output) and not a.force:
        sys.exit(f"merge: {a.output} exists: remove it or pass --force")
    parts = []
    for name in a.parts:
        f = h5py.File(name, "r")
        if int(f.attrs.get("complete", 0)) != 1:
            sys.exit(f"merge: {name} is not complete (attribute complete = 1 missing): finish its run first")
        if "input_range" not in f.attrs:
            sys.exit(f"merge: {name} has no attribute input_range: not a dpsolve run output")
        parts.append((int(f.attrs["input_range"][0]), int(f.attrs["input_range"][1]), name, f))
    parts.sort()
    first = parts[0][3]
    end = 0
    for lo, hi, name, f in parts:
        if lo != end:
            sys.exit(f"merge: {name} holds inputs {lo}..{hi - 1}, but the parts before end at {end - 1}: "
                     f"{'a gap' if lo > end else 'an overlap'}")
        end = hi
        for k in SAME:
            if k in first.attrs and text(f.attrs.get(k)) != text(first.attrs[k]):
                sys.exit(f"merge: {name} has {k} = {text(f.attrs.get(k))}, but {parts[0][2]} has {text(first.attrs[k])}")
        if options_without_part(f.attrs["options"]) != options_without_part(first.attrs["options"]):
            sys.exit(f"merge: {name} was run with other options than {parts[0][2]}:\n  {text(f.attrs['options'])}\n"
                     f"  {text(first.attrs['options'])}")
    N = end
    tmp = a.output + ".partial"
    with h5py.File(tmp, "w") as out:
        # the per-input datasets; cdps_smc: the particle filter's counts per input (-cdps_smc), with its attributes
        for name in ("samples", "mean", "std", "y", "x0", "done", "cdps_smc"):
            if name not in first:
                continue
            d = first[name]
            ds = out.create_dataset(name, shape=(N,) + d.shape[1:], dtype=d.dtype, chunks=(1,) + d.shape[1:])
            for k, v in d.attrs.items():
                ds.attrs[k] = v
            for lo, hi, pname, f in parts:
                ds[lo:hi] = f[name][...]
        for k, v in first.attrs.items():
            if k not in ("complete", "run_id", "input_range") + COUNTERS:
                out.attrs[k] = v
        for k in COUNTERS:
            if k in first.attrs:
                out.attrs[k] = np.int64(sum(int(f.attrs[k]) for _, _, _, f in parts))
        out.attrs["input_range"] = np.array([0, N], dtype=np.int64)
        out.attrs["merged_from"] = ", ".join(name for _, _, name, _ in parts)
        if not np.all(out["done"][...] == 1):
            sys.exit(f"merge: some inputs are not marked done in the parts")
        out.attrs["complete"] = np.int64(1)  # last
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, a.output)
    print(f"merge: {a.output}: {N} inputs from {len(parts)} parts")


if __name__ == "__main__":
    main()
