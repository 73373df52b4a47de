#!/usr/bin/env bash
# The default job: posterior sampling of held-out Fashion-MNIST test images under random inpainting (70% of the
# pixels missing) and box inpainting (a 16x16 box missing), with C-DPS and the shipped UNet prior
# (data/models/fmnist32.h5) on 2 MPI ranks. Writes out/fmnist-{random,box}-{input,output}.h5, then prints a
# PSNR/SSIM table and draws out/fmnist-demo.png (truth, measurement, draws, posterior mean and std).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
python=/usr/bin/python3 # Debian's, with numpy, h5py and PIL (a pyenv python3 earlier on the PATH may lack them)
dps=build/dpsolve
mkdir -p out
for mask in random box; do
  rm -f "out/fmnist-$mask-input.h5" # the demo's own file: made afresh each time
  $python tools/make_image_problem.py --mask $mask --images 8 --out "out/fmnist-$mask-input.h5"
  mpiexec -n 2 $dps run -options_file_yaml jobs/fmnist-demo.yaml -input "out/fmnist-$mask-input.h5" \
    -output "out/fmnist-$mask-output.h5" -force -run_view 0
done
$python tools/image_report.py out/fmnist-random-output.h5 out/fmnist-box-output.h5 \
  --png out/fmnist-demo.png --csv out/fmnist-demo.csv
