#!/usr/bin/env bash
# The seed's five image tasks on the shipped Fashion-MNIST prior (data/models/fmnist32.h5): random inpainting (70%
# missing), box inpainting (the protocol's 128 x 128 box in a 16-pixel margin, scaled to 16 x 16 in 2), Gaussian
# deblurring (7x7, sigma 1.0), motion deblurring (7x7, intensity 0.5) and 4x bicubic super-resolution, on held-out
# test images 0..N-1, by C-DPS and DDRM (20 steps) beside the classical baselines. Inputs by tools/dpstools
# (`python3 -m dpstools.make`, y as `dpsolve run -seed 1` simulates it); prints a PSNR/SSIM table per task and
# method and draws out/demo-tasks.png (truth, measurement, each method's posterior mean, the best baseline).
# The blurs use the circular boundary here: its exact inverse and SVD let C-DPS (one CG iteration) and DDRM run;
# bench/images runs the reference code's reflect boundary.
#   scripts/demo-tasks.sh [images (4)] [C-DPS steps (50)] [draws (2)]     about 2 minutes on 2 cores at the defaults
# DPSOLVE (default build/dpsolve) and DEMO_OUT (default out: the files go to $DEMO_OUT/demo-tasks/ and
# $DEMO_OUT/demo-tasks.{md,png}) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-4} STEPS=${2:-50} DRAWS=${3:-2}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
python=/usr/bin/python3 # Debian's, with numpy, h5py, scipy, scikit-image and PIL
for m in scipy:python3-scipy skimage:python3-skimage PIL:python3-pil; do
  $python -c "import ${m%%:*}" 2> /dev/null || {
    echo "demo-tasks: the Python module ${m%%:*} is missing: apt-get install ${m#*:} (Debian; scripts/setup.sh does)" >&2
    exit 1; }
done
DPSOLVE=${DPSOLVE:-build/dpsolve}
[[ $DPSOLVE == /* ]] || DPSOLVE=$(pwd)/$DPSOLVE
export DPSOLVE PYTHONPATH=$(pwd)/tools
top=${DEMO_OUT:-out}
out=$top/demo-tasks
mkdir -p "$out"
rm -f "$out"/*.h5 # the demo's own files: made afresh each time
make() { local task=$1; shift; $python -m dpstools.make "$@" --images "$N" --first 0 --sigma-y 0.05 --seed 0 \
  --simulate-y 1 --out "$out/$task-input.h5" > /dev/null; }
make random inpaint --mask random --missing 0.7
make box inpaint --mask box
make gaussian blur --kernel gaussian --blur-sigma 1.0 --mode circular
make motion blur --kernel motion --intensity 0.5 --mode circular
make sr4 sr --factor 4 --kind bicubic
for task in random box gaussian motion sr4; do
  for m in "cdps|-sampler_type cdps -steps $STEPS" "ddrm|-sampler_type ddrm -ddrm_eta 0.85 -ddrm_eta_b 1 -steps 20"; do
    # shellcheck disable=SC2086
    mpiexec -n 2 "$DPSOLVE" run -options_file_yaml configs/models/fmnist32.yaml ${m#*|} -input "$out/$task-input.h5" \
      -output "$out/$task-${m%%|*}.h5" -samples "$DRAWS" -batch 2 -seed 1 -run_view 0 -progress 0 > "$out/$task-${m%%|*}.log"
  done
done
$python -m dpstools.report "$out"/{random,box,gaussian,motion,sr4}-{cdps,ddrm}.h5 --md "$top/demo-tasks.md" \
  --png "$top/demo-tasks.png"
