#!/bin/bash
# slurm_jobs_configs: the job files of jobs/ and the pieces of configs/ they include, as the sbatch templates use
# them: every job and piece is accepted (every option used), the pieces take effect, the job and the command line
# win over the pieces, a misspelt key or a missing piece is an error; -input_part splits a data set into parts
# that slurm/merge.py joins into exactly the output of one run, and merge.py refuses parts that do not fit.
set -euo pipefail
source "$(dirname "$0")/../restart/lib.sh"
SRC=${5:?usage: jobs.sh DPSOLVE MPIEXEC PYTHON H5DIFF SOURCE_DIR}
QUICK=(-samples 4 -steps 10 -run_view 0 -progress 0)

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 2
# the image jobs (fmnist-*) run on two Fashion-MNIST test images with the shipped UNet
"$PYTHON" "$SRC/tools/make_image_problem.py" --mask box --images 2 --out images.h5 >images.log 2>&1 ||
  { cat images.log >&2; fail "tools/make_image_problem.py failed"; }
opts() { attr "$1" options; }

# --- every job runs, from the source folder (relative includes) and from elsewhere (-include_path) ---
for job in "$SRC"/jobs/*.yaml; do
  name=$(basename "$job" .yaml)
  input=in.h5 score=gmm away=()
  case $name in fmnist-*) input=images.h5 score=unet away=(-score_unet_weights "$SRC/data/models/fmnist32.h5") ;; esac
  (cd "$SRC" && launch 1 run -options_file_yaml "jobs/$name.yaml" -input "$WORK/$input" -output "$WORK/$name.h5" "${QUICK[@]}") >"$name.log" 2>&1 ||
    { cat "$name.log" >&2; fail "job $name failed from $SRC"; }
  # from elsewhere the includes come from -include_path; a relative weights path would not be found, so it is given
  dps 1 "$name-away.log" run -options_file_yaml "$job" -include_path "$SRC" -input "$input" -output "$name-away.h5" "${QUICK[@]}" "${away[@]}"
  same_output "$name.h5" "$name-away.h5"
  for o in "-score_type $score" "-schedule_train_steps 1000" "-sampler_type "; do
    opts "$name.h5" | grep -qF -- "$o" || fail "job $name: its output's options lack '$o' (the pieces were not included): $(opts "$name.h5")"
  done
done
# without -include_path, from elsewhere, the pieces are not found: said clearly
dps_fails 1 noinc.log run -options_file_yaml "$SRC/jobs/gmm-demo.yaml" -input in.h5 -output x.h5 "${QUICK[@]}"
expect_in noinc.log "-include configs/models/gmm.yaml: file not found (looked in the current directory)"

# --- gmm-demo.yaml stands for the options it always had: the same bits as those given one by one ---
dps 1 demo.log run -options_file_yaml "$SRC/jobs/gmm-demo.yaml" -include_path "$SRC" -input in.h5 -output demo.h5 -samples 4 -steps 10 -run_view 0 -progress 0
dps 1 plain.log run -sampler_type cdps -cdps_coupling shared -cdps_solves 1 -batch 2 -seed 1 -input in.h5 -output plain.h5 -samples 4 -steps 10 -run_view 0 -progress 0
same_output plain.h5 demo.h5

# --- the command line wins over the job, the job over its pieces ---
dps 1 cl.log run -options_file_yaml "$SRC/jobs/gmm-benchmark.yaml" -include_path "$SRC" -input in.h5 -output cl.h5 "${QUICK[@]}" -cdps_coupling independent -seed 7
[ "$(attr cl.h5 seed)" = 7 ] && opts cl.h5 | grep -qF -- "-cdps_coupling independent" || fail "the command line did not win over the job and its pieces: $(opts cl.h5)"
# (another sampler on the command line leaves the job's cdps options unused: an error, not a silent no-op)
dps_fails 1 clsampler.log run -options_file_yaml "$SRC/jobs/gmm-benchmark.yaml" -include_path "$SRC" -input in.h5 -output x.h5 "${QUICK[@]}" -sampler_type ddpm
expect_in clsampler.log "unknown option -cdps_"
cat >own.yaml <<EOF
include: [configs/samplers/cdps.yaml]
cdps:
  coupling: independent
EOF
dps 1 own.log run -options_file_yaml own.yaml -include_path "$SRC" -input in.h5 -output own.h5 "${QUICK[@]}"
opts own.h5 | grep -qF -- "-cdps_coupling independent" || fail "the job's own key did not win over its piece: $(opts own.h5)"

# --- every sampler piece runs with the model piece; every operator piece makes an input ---
for piece in "$SRC"/configs/samplers/*.yaml; do
  name=$(basename "$piece" .yaml)
  dps 1 "s-$name.log" run -include "$SRC/configs/models/gmm.yaml,$piece" -input in.h5 -output "s-$name.h5" "${QUICK[@]}"
  is_complete "s-$name.h5" || fail "sampler piece $name: no complete output"
done
for piece in "$SRC"/configs/operators/*.yaml; do
  name=$(basename "$piece" .yaml)
  dps 1 "o-$name.log" simulate -options_file_yaml "$piece" -output "o-$name.h5" -inputs 2 -dx 16
done

# --- a misspelt key in a piece is an error naming it; so is a missing piece ---
printf 'sampler:\n  typo: cdps\n' >bad.yaml
dps_fails 1 typo.log run -include bad.yaml -input in.h5 -output x.h5 "${QUICK[@]}"
expect_in typo.log "unknown option -sampler_typo cdps"
dps_fails 1 missing.log run -include nosuch.yaml -input in.h5 -output x.h5 "${QUICK[@]}"
expect_in missing.log "-include nosuch.yaml: file not found"
none_of x.h5 x.h5.partial

# --- a data set in parts (job arrays): the parts, on any ranks, join into the output of one run ---
dps 2 whole.log run -input in.h5 -output whole.h5 "${QUICK[@]}" -batch 2
dps 1 p0.log run -input in.h5 -output p0.h5 "${QUICK[@]}" -input_part 0,3
dps 2 p1.log run -input in.h5 -output p1.h5 "${QUICK[@]}" -input_part 1,3
dps 1 p2.log run -input in.h5 -output p2.h5 "${QUICK[@]}" -input_part 2,3 -batch 1
expect_in p1.log "wrote p1.h5: 2 inputs x 4 draws"
"$PYTHON" "$SRC/slurm/merge.py" -o merged.h5 p2.h5 p0.h5 p1.h5 >merge.log 2>&1 || { cat merge.log >&2; fail "merge.py failed"; }
same_output whole.h5 merged.h5
[ "$(attr merged.h5 cg_iterations)" = "$(attr whole.h5 cg_iterations)" ] || fail "merged counters differ from one run's"
# the particle form's per-input counts (/cdps_smc) are merged too
dps 1 smcw.log run -input in.h5 -output smc-whole.h5 "${QUICK[@]}" -cdps_smc
dps 1 smc0.log run -input in.h5 -output smc-p0.h5 "${QUICK[@]}" -cdps_smc -input_part 0,2
dps 1 smc1.log run -input in.h5 -output smc-p1.h5 "${QUICK[@]}" -cdps_smc -input_part 1,2
"$PYTHON" "$SRC/slurm/merge.py" -o smc-merged.h5 smc-p0.h5 smc-p1.h5 >smcmerge.log 2>&1 || { cat smcmerge.log >&2; fail "merge.py failed on -cdps_smc parts"; }
same_output smc-whole.h5 smc-merged.h5
same_datasets smc-whole.h5 smc-merged.h5 /cdps_smc
merge_fails() { # merge_fails CASE message parts...
  local case=$1 msg=$2
  shift 2
  if "$PYTHON" "$SRC/slurm/merge.py" -o "m-$case.h5" "$@" >"m-$case.log" 2>&1; then fail "merge.py accepted $case"; fi
  expect_in "m-$case.log" "$msg"
  none_of "m-$case.h5"
}
merge_fails gap "p2.h5 holds inputs 4..4, but the parts before end at 1: a gap" p0.h5 p2.h5
merge_fails overlap "an overlap" p0.h5 p1.h5 p1.h5
dps 1 p1s.log run -input in.h5 -output p1s.h5 "${QUICK[@]}" -input_part 1,3 -seed 9
merge_fails seed "p1s.h5 has seed = 9, but p0.h5 has 0" p0.h5 p1s.h5 p2.h5
merge_fails exists "merged.h5 exists" -o merged.h5 p0.h5
dps_fails 1 part.log run -input in.h5 -output x.h5 "${QUICK[@]}" -input_part 3,3
expect_in part.log "-input_part 3,3: needs 0 <= part < parts"

echo "PASS: $TEST_NAME"
