#!/bin/bash
# cli_bad_input: wrong input, wrong options and existing outputs make dpsolve fail with a message that names
# what was wrong (file, dataset, option, value), and never touch the files that were there before.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QUICK=(-samples 4 -steps 10 -run_view 0 -progress 0)

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 0
dps 1 good.log run -input in.h5 -output good.h5 "${QUICK[@]}"
M=$("$PYTHON" -c 'import h5py; print(h5py.File("in.h5", "r")["y"].shape[1])')
[ "$M" = 2 ] || fail "simulate -dy 2 wrote /y with m = $M"

# the broken inputs: copies of in.h5 with one thing changed
"$PYTHON" - <<'EOF'
import shutil, h5py, numpy as np
def broken(name, change):
    shutil.copy("in.h5", name)
    with h5py.File(name, "r+") as f:
        change(f)
def no_y_x0(f):
    del f["y"]; del f["x0"]
def y_3dims(f):
    y = f["y"][...]; del f["y"]; f["y"] = y[:, :, None]
def y_wrong_m(f):
    y = f["y"][...]; del f["y"]; f["y"] = np.zeros((y.shape[0], y.shape[1] + 1))
def nan_at(i):
    def change(f):
        y = f["y"][...]; y[i, 1] = np.nan; f["y"][...] = y
    return change
broken("noyx0.h5", no_y_x0)
broken("nomeans.h5", lambda f: f["prior"].__delitem__("means"))
broken("y3dims.h5", y_3dims)
broken("ywrongm.h5", y_wrong_m)
broken("ynan4.h5", nan_at(4))
broken("ynan5.h5", nan_at(5))
EOF

# snapshot, unchanged and fails_cleanly (lib.sh): a failed command must leave every file exactly as it was

# (a) missing datasets
fails_cleanly noyx0 1 run -input noyx0.h5 -output out.h5 "${QUICK[@]}"
expect_in noyx0.log noyx0.h5 /y
fails_cleanly nomeans 1 run -input nomeans.h5 -output out.h5 "${QUICK[@]}"
expect_in nomeans.log nomeans.h5 /prior/means

# (b) wrong shapes
fails_cleanly y3dims 1 run -input y3dims.h5 -output out.h5 "${QUICK[@]}"
expect_in y3dims.log y3dims.h5 /y "3 dims" "expected 2"
fails_cleanly ywrongm 1 run -input ywrongm.h5 -output out.h5 "${QUICK[@]}"
expect_in ywrongm.log ywrongm.h5 /y "expected m = $M"

# (c) NaN in /y: the file, the dataset and the input, also when the input is on rank 1 (inputs 4..6 of 7)
fails_cleanly ynan4 1 run -input ynan4.h5 -output out.h5 "${QUICK[@]}"
expect_in ynan4.log ynan4.h5 /y "input 4"
expect_in -i ynan4.log nan
fails_cleanly ynan5 2 run -input ynan5.h5 -output out.h5 "${QUICK[@]}"
expect_in ynan5.log ynan5.h5 /y "input 5"
expect_in -i ynan5.log nan

# (d) options: a misspelt name is refused before anything is written; so is a value of the wrong type
fails_cleanly misspelt 1 run -input in.h5 -output out.h5 -samplr_type cdps "${QUICK[@]}"
expect_in misspelt.log -samplr_type "-samplr_type cdps"
fails_cleanly misspelt2 2 run -input in.h5 -output out.h5 -samplr_type cdps "${QUICK[@]}"
expect_in misspelt2.log -samplr_type
fails_cleanly illtyped 1 run -input in.h5 -output out.h5 -samples abc -steps 10 -run_view 0 -progress 0
expect_in illtyped.log abc
fails_cleanly evalmisspelt 1 eval -input in.h5 -output good.h5 -eval_direction 10
expect_in evalmisspelt.log -eval_direction
fails_cleanly simmisspelt 1 simulate -output new.h5 -inptus 3
expect_in simmisspelt.log -inptus
# job files: a YAML error names the file and the line, a key given twice is refused (PETSc would take the last
# silently), binary garbage is not read as options; in the job file itself and in a piece it includes
printf 'samples: 4\nsteps: 10\nsamples: 8\n' >dup.yaml
printf 'samples: 4\n  steps: [10\n' >broken.yaml
head -c 400 "$DPSOLVE" >binary.yaml
printf 'include: [dup.yaml]\nseed: 1\n' >withdup.yaml
fails_cleanly yamldup 1 run -input in.h5 -output out.h5 -options_file_yaml dup.yaml
expect_in yamldup.log "dup.yaml: line 3: key 'samples' is given twice"
fails_cleanly yamlbroken 2 run -input in.h5 -output out.h5 -options_file_yaml broken.yaml
expect_in yamlbroken.log "broken.yaml: line 2, column" "not valid YAML"
fails_cleanly yamlbinary 1 run -input in.h5 -output out.h5 -options_file_yaml binary.yaml
expect_in yamlbinary.log "binary.yaml: line 1" "not valid YAML"
fails_cleanly yamlinclude 2 run -input in.h5 -output out.h5 -options_file_yaml withdup.yaml
expect_in yamlinclude.log "-include dup.yaml" "key 'samples' is given twice"
# simulate: an inpainting mask with nothing observed is refused, not written
fails_cleanly simallmissing 1 simulate -output new.h5 -simulate_operator inpaint -inpaint_missing 1
expect_in simallmissing.log "-inpaint_missing 1" "nothing observed"

# (e) an existing output is kept without -force; with -force it is replaced
cp good.h5 out.h5
fails_cleanly exists 1 run -input in.h5 -output out.h5 "${QUICK[@]}" -seed 1
expect_in exists.log out.h5 -force
fails_cleanly exists2 2 run -input in.h5 -output out.h5 "${QUICK[@]}" -seed 1
expect_in exists2.log out.h5 -force
fails_cleanly simexists 1 simulate -output in.h5 -inputs 3 -seed 9
expect_in simexists.log in.h5 -force
dps 1 force.log run -input in.h5 -output out.h5 "${QUICK[@]}" -seed 1 -force
cmp -s good.h5 out.h5 && fail "run -force did not replace out.h5"
differ_datasets good.h5 out.h5 /samples
same_datasets in.h5 out.h5 /y /x0
[ ! -e out.h5.partial ] || fail "run -force left out.h5.partial behind"

# (f) a run that fails does not damage an existing output, even with -force: a failure while reading the input,
# and a failure in the middle of sampling (the CG solve may not reach its tolerance in one iteration)
fails_cleanly forcenan 1 run -input ynan4.h5 -output out.h5 "${QUICK[@]}" -force
expect_in forcenan.log ynan4.h5 /y "input 4"
fails_cleanly midway 1 run -input in.h5 -output out.h5 "${QUICK[@]}" -force -mean_ksp_max_it 1 -mean_ksp_error_if_not_converged
expect_in midway.log KSPSolve

# (g) eval keeps an existing /eval group without -force
dps 1 eval.log eval -input in.h5 -output good.h5 -eval_directions 20
fails_cleanly evalexists 1 eval -input in.h5 -output good.h5 -eval_directions 20
expect_in evalexists.log good.h5 /eval -force
fails_cleanly evalexists2 2 eval -input in.h5 -output good.h5 -eval_directions 20
expect_in evalexists2.log good.h5 /eval -force
# on 2 ranks, 7 inputs split 4 + 3: the uneven shards of the eval deadlock fixed in 6daf0bb, guarded here too (a
# regression hangs and fails after DPS_CLI_TIMEOUT) beside cli_eval_uneven_shards
dps 2 evalforce.log eval -input in.h5 -output good.h5 -eval_directions 30 -force
"$PYTHON" -c 'import h5py, sys; sys.exit(int(h5py.File("good.h5", "r")["eval"].attrs["directions"]) != 30)' || fail "eval -force did not replace /eval"

# (h) missing files
fails_cleanly noinput 1 run -input nosuchfile.h5 -output out2.h5 "${QUICK[@]}"
expect_in noinput.log nosuchfile.h5
fails_cleanly noinput2 2 run -input nosuchfile.h5 -output out2.h5 "${QUICK[@]}"
expect_in noinput2.log nosuchfile.h5
fails_cleanly evalnooutput 1 eval -input in.h5 -output nosuchrun.h5
expect_in evalnooutput.log nosuchrun.h5

# (i) not HDF5 at all, or cut short
head -c 3000 in.h5 >trunc.h5
echo "not an HDF5 file" >text.h5
fails_cleanly trunc 1 run -input trunc.h5 -output out3.h5 "${QUICK[@]}"
expect_in trunc.log "trunc.h5: cannot open as an HDF5 file"
fails_cleanly text 2 run -input text.h5 -output out3.h5 "${QUICK[@]}"
expect_in text.log "text.h5: cannot open as an HDF5 file"

# (j) datasets of the wrong type or rank, Inf and NaN anywhere they are read, sigma_y not positive
"$PYTHON" - <<'EOF2'
import shutil, h5py, numpy as np
def broken(name, change):
    shutil.copy("in.h5", name)
    with h5py.File(name, "r+") as f:
        change(f)
def ystrings(f):
    n = f["y"].shape[0]; del f["y"]; f["y"] = np.array([b"abc"] * n)
def ygroup(f):
    del f["y"]; f.create_group("y")
def means1d(f):
    m = f["prior/means"][...]; del f["prior/means"]; f["prior/means"] = m.ravel()
def set_entry(dset, i, j, v):
    def change(f):
        a = f[dset][...]; a[i, j] = v; f[dset][...] = a
    return change
def sigma(v):
    def change(f): f.attrs["sigma_y"] = v
    return change
broken("ystrings.h5", ystrings); broken("ygroup.h5", ygroup); broken("means1d.h5", means1d)
broken("yinf6.h5", set_entry("y", 6, 0, -np.inf)); broken("x0inf2.h5", set_entry("x0", 2, 3, np.inf))
broken("meansnan.h5", set_entry("prior/means", 1, 2, np.nan))
broken("signeg.h5", sigma(-1.0)); broken("sigzero.h5", sigma(0.0)); broken("signan.h5", sigma(np.nan))
EOF2
fails_cleanly ystrings 1 run -input ystrings.h5 -output out3.h5 "${QUICK[@]}"
expect_in ystrings.log "ystrings.h5: dataset /y is not numeric"
fails_cleanly ygroup 1 run -input ygroup.h5 -output out3.h5 "${QUICK[@]}"
expect_in ygroup.log "ygroup.h5: /y is not a dataset"
fails_cleanly means1d 1 run -input means1d.h5 -output out3.h5 "${QUICK[@]}"
expect_in means1d.log "means1d.h5: dataset /prior/means has 1 dims, expected 2 (K, d)"
fails_cleanly yinf6 2 run -input yinf6.h5 -output out3.h5 "${QUICK[@]}"
expect_in yinf6.log "yinf6.h5: dataset /y holds -inf" "at input 6, entry 0"
fails_cleanly x0inf2 1 run -input x0inf2.h5 -output out3.h5 "${QUICK[@]}"
expect_in x0inf2.log "x0inf2.h5: dataset /x0 holds inf" "at input 2, entry 3"
fails_cleanly meansnan 1 run -input meansnan.h5 -output out3.h5 "${QUICK[@]}"
expect_in meansnan.log "meansnan.h5: dataset /prior/means holds nan"
for c in signeg sigzero signan; do
  fails_cleanly $c 1 run -input $c.h5 -output out3.h5 "${QUICK[@]}"
  expect_in $c.log "$c.h5: attribute sigma_y = " "must be positive and finite"
done

# (k) more steps than the model was trained with
fails_cleanly steps 1 run -input in.h5 -output out3.h5 -samples 4 -steps 2000 -run_view 0 -progress 0
expect_in steps.log "-steps 2000 must lie in [2, 1000] (the training steps)"

# (l) the output (or checkpoint) in a missing or read-only directory: refused before any work
fails_cleanly nodir 2 run -input in.h5 -output nodir/out.h5 "${QUICK[@]}"
expect_in nodir.log "cannot write the output file nodir/out.h5: its directory nodir: No such file or directory"
fails_cleanly nockdir 1 run -input in.h5 -output out3.h5 -checkpoint nodir/ck.h5 "${QUICK[@]}"
expect_in nockdir.log "cannot write the checkpoint nodir/ck.h5: its directory nodir: No such file or directory"
mkdir ro
chmod 555 ro
if [ "$(id -u)" -eq 0 ]; then
  # root writes anywhere: the read-only case runs as nobody, which may read the input (but not write to ro/)
  chmod 755 "$WORK"
  snapshot >before.sum
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp timeout -k 5 "$DPS_CLI_TIMEOUT" "$DPSOLVE" run -input in.h5 -output ro/out.h5 "${QUICK[@]}" >ro.log 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "a run as nobody wrote into a read-only directory"
  unchanged ro
else
  fails_cleanly ro 1 run -input in.h5 -output ro/out.h5 "${QUICK[@]}"
fi
expect_in ro.log "cannot write the output file ro/out.h5: its directory ro: Permission denied"
[ -z "$(ls -A ro)" ] || fail "files were left in ro/: $(ls -A ro)"

# (m) more ranks than inputs: the idle ranks join every collective write and checkpoint with nothing to write
dps 1 two.log simulate -output two.h5 -dx 8 -dy 2 -inputs 2 -seed 5
dps 1 two1.log run -input two.h5 -output two1.h5 "${QUICK[@]}"
dps 3 two3.log run -input two.h5 -output two3.h5 "${QUICK[@]}" -checkpoint ck3.h5 -checkpoint_every 3
same_datasets two1.h5 two3.h5 /samples /mean /std /y /x0 /done
[ ! -e ck3.h5 ] || fail "a finished run left its checkpoint behind"

# eval of an unfinished output (its `complete` attribute is 0): refused, naming the file, nothing changed
cp good.h5 unfinished.h5
"$PYTHON" -c 'import h5py; h5py.File("unfinished.h5", "r+").attrs["complete"] = 0'
fails_cleanly unfinished 1 eval -input in.h5 -output unfinished.h5
expect_in unfinished.log unfinished.h5 "complete = 0" "did not finish"

echo "PASS: $TEST_NAME"
