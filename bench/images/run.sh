#!/usr/bin/env bash
# The image benchmark: every sampler with the shipped Fashion-MNIST prior (data/models/fmnist32.h5) on a fixed
# set of held-out test images, beside classical non-learned baselines (bench/images/README.md).
#
#   bench/images/run.sh [-n images (32)] [-F first test image (1000)] [-s steps (100)] [-d draws (4)]
#                       [-j parallel runs (2)] [-b batch (4)] [-m methods,comma,separated (all)]
#                       [-t tasks,comma,separated (all)] [-f] [-o out dir (out/bench-images)]
#
# Writes <out>/results.csv (one row per method, task and image), <out>/table.md (mean ± 95% interval over the
# images) and <out>/psnr-ssim.png, <out>/grid-<task>.png (report.py). Each run is one dpsolve process on one rank
# over all images of a task; -j runs go side by side. A finished run is kept (its rows in <out>/runs/...): the
# benchmark resumes where it stopped, and -m adds methods to an earlier run's table; -f runs the chosen methods
# again. A sampler that fails is recorded as failed with its exit status and message, and the rest go on.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=32 FIRST=1000 STEPS=100 DRAWS=4 J=2 BATCH=4 ONLY="" TONLY="" FORCE=0 OUT=out/bench-images
while getopts "n:F:s:d:j:b:m:t:fo:" o; do
  case $o in
    n) N=$OPTARG ;; F) FIRST=$OPTARG ;; s) STEPS=$OPTARG ;; d) DRAWS=$OPTARG ;; j) J=$OPTARG ;; b) BATCH=$OPTARG ;;
    m) ONLY=$OPTARG ;; t) TONLY=$OPTARG ;; f) FORCE=1 ;; o) OUT=$OPTARG ;; *) exit 2 ;;
  esac
done
python=/usr/bin/python3 # Debian's, with numpy, h5py, scikit-image and matplotlib
dps=$(pwd)/${DPSOLVE:-build/dpsolve}
[ -x "$dps" ] || { echo "bench/images: $dps not found: run scripts/setup.sh first (or set DPSOLVE)" >&2; exit 1; }
for m in skimage:python3-skimage matplotlib:python3-matplotlib; do
  $python -c "import ${m%%:*}" 2> /dev/null || {
    echo "bench/images: the Python module ${m%%:*} is missing: apt-get install ${m#*:} (Debian)" >&2; exit 1; }
done
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} # one core per run; -j runs side by side
export PYTHONPATH=$(pwd)/tools DPSOLVE=$dps # the input tool (dpstools) and score.py apply A through dpsolve

# The tasks: name | the input tool and its options. The fixed image set is test images FIRST..FIRST+N-1 (1000..1031
# by default: not the demo's 0..7). random and box: tools/make_image_problem.py (their inputs as before, bit for bit);
# the seed's other tasks (python3 -m dpstools.make, lengths of the 256 x 256 protocol scaled to 32 x 32): Gaussian
# deblurring (7x7; sigma 1.0, not the scaled 0.375, which changes the images less than the noise does), motion
# deblurring (7x7, intensity 0.5, the kernel from seed 0), 4x bicubic super-resolution; reflect boundaries as the
# reference code; y stored as `dpsolve run -seed 1` simulates it, so the baselines see the samplers' y.
TASKS=(
  "random|tools/make_image_problem.py --mask random --missing 0.7 --sigma-y 0.05 --seed 0"
  "box|tools/make_image_problem.py --mask box --box 8,8,16,16 --sigma-y 0.05 --seed 0"
  "gaussian|-m dpstools.make blur --kernel gaussian --blur-sigma 1.0 --mode reflect --sigma-y 0.05 --simulate-y 1"
  "motion|-m dpstools.make blur --kernel motion --intensity 0.5 --mode reflect --sigma-y 0.05 --seed 0 --simulate-y 1"
  "sr4|-m dpstools.make sr --factor 4 --kind bicubic --sigma-y 0.05 --simulate-y 1"
  # the medical tasks (issue 13, docs/operators.md): 4x single-coil MRI (fastMRI's random lines, 8% centre, the
  # mask from seed 0: 9 of 32 columns), the same with 4 simulated coils; parallel-beam CT with 30 views over 180
  # degrees and limited-angle CT (90 views over [0, 90) degrees); 47 detector bins of 1 pixel; A normalised to
  # ||A||_2 = 1 with sigma_y (0.05 in Joseph's units) scaled alike, the units DPS's zeta is set for (docs/operators.md)
  "mri4|-m dpstools.make mri --kmask random --accel 4 --center-fraction 0.08 --sigma-y 0.05 --seed 0 --simulate-y 1"
  "mri4-coils|-m dpstools.make mri --kmask random --accel 4 --center-fraction 0.08 --coils 4 --sigma-y 0.05 --seed 0 --simulate-y 1"
  "ct30|-m dpstools.make ct --views 30 --sigma-y 0.05 --normalise --simulate-y 1"
  "ct-limited|-m dpstools.make ct --views 90 --angle-range 90 --sigma-y 0.05 --normalise --simulate-y 1"
)
# The methods and their settings (docs/samplers.md): name | options | steps (cdps-x0*: the x0-space form of C-DPS,
# docs/cdps.md; its cadps variant costs 2 model evaluations per step). DPS's zeta is its default and
# configs/samplers/dps.yaml's (1.0); ddrm is run at its published 20 steps and at 100.
METHODS=(
  "ddrm-20|-sampler_type ddrm -ddrm_eta 0.85 -ddrm_eta_b 1|20"
  "ddrm-100|-sampler_type ddrm -ddrm_eta 0.85 -ddrm_eta_b 1|100"
  "ddpm|-sampler_type ddpm|$STEPS"
  "cdps|-sampler_type cdps -cdps_coupling shared|$STEPS"
  "cdps-independent|-sampler_type cdps -cdps_coupling independent|$STEPS"
  "cdps-x0|-sampler_type cdps -cdps_space x0 -cdps_x0_variance data|$STEPS"
  "cdps-x0-cadps|-sampler_type cdps -cdps_space x0 -cdps_x0_variance cadps|$STEPS"
  "dps|-sampler_type dps -dps_zeta 1.0|$STEPS"
  "pigdm|-sampler_type pigdm|$STEPS"
  "cadps|-sampler_type cadps -cadps_variant paper -cadps_probes 1 -cadps_fd_step 1e-3|$STEPS"
  "cadps-released|-sampler_type cadps -cadps_variant released|$STEPS"
)
picked() { [ -z "$2" ] || [[ ",$2," == *",$1,"* ]]; }

mkdir -p "$OUT/inputs"
OUT=$(cd "$OUT" && pwd)
RUNS=$OUT/runs/first$FIRST-n$N-s$STEPS-d$DRAWS
mkdir -p "$RUNS"
jobs=$RUNS/jobs.txt
: > "$jobs"
for t in "${TASKS[@]}"; do
  IFS='|' read -r task topts <<< "$t"
  picked "$task" "$TONLY" || continue
  in=$OUT/inputs/$task-first$FIRST-n$N.h5
  # shellcheck disable=SC2086
  [ -e "$in" ] || $python $topts --first "$FIRST" --images "$N" --out "$in" > /dev/null
  [ -s "$RUNS/$task-baselines.csv" ] || $python bench/images/score.py baselines "$in" "$task" > "$RUNS/$task-baselines.csv"
done
for m in "${METHODS[@]}"; do
  IFS='|' read -r name opts steps <<< "$m"
  picked "$name" "$ONLY" || continue
  for t in "${TASKS[@]}"; do
    task=${t%%|*}
    picked "$task" "$TONLY" || continue
    [ "$FORCE" = 1 ] && rm -f "$RUNS/$task-$name.csv"
    [ -s "$RUNS/$task-$name.csv" ] || echo "$task $name $steps $opts" >> "$jobs"
  done
done

run_one() {
  local task=$1 name=$2 steps=$3; shift 3
  local in=$OUT/inputs/$task-first$FIRST-n$N.h5 out=$RUNS/$task-$name.h5 log=$RUNS/$task-$name.log
  local rc=0 t0=$SECONDS
  rm -f "$out" # a failed run must not leave an earlier run's output to be scored
  "$dps" run -options_file_yaml configs/models/fmnist32.yaml -input "$in" -output "$out" -samples "$DRAWS" \
    -steps "$steps" -seed 1 -batch "$BATCH" -run_view 0 -progress 0 -force "$@" > "$log" 2>&1 || rc=$?
  echo "$task $name: exit $rc, $((SECONDS - t0)) s" | tee -a "$RUNS/timing.txt" >&2
  $python bench/images/score.py run "$in" "$out" "$log" "$name" "$task" "$rc" "$steps" "$DRAWS" > "$RUNS/$task-$name.csv.tmp"
  mv "$RUNS/$task-$name.csv.tmp" "$RUNS/$task-$name.csv"
}
export -f run_one
export OUT RUNS FIRST N DRAWS BATCH dps python
echo "bench/images: $(wc -l < "$jobs") runs, $J at a time: test images $FIRST..$((FIRST + N - 1)), $DRAWS draws," \
  "$STEPS steps (ddrm 20 and 100); $RUNS"
xargs -r -P "$J" -L 1 bash -c 'run_one "$@"' _ < "$jobs"
$python bench/images/report.py "$RUNS" "$OUT"
cat "$OUT/table.md"
