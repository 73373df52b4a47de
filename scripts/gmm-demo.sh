#!/usr/bin/env bash
# The Gaussian-mixture demo (the default job before the image demo): simulate a Gaussian-mixture problem set
# (d_x = 800, d_y = 4, 8 inputs), sample it with C-DPS on 2 MPI ranks, and print the sliced Wasserstein distances
# to the exact posterior. Files go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p out
dps=build/dpsolve
$dps simulate -output out/gmm-demo-input.h5 -dx 800 -dy 4 -inputs 8 -seed 1 -force
mpiexec -n 2 $dps run -input out/gmm-demo-input.h5 -output out/gmm-demo-output.h5 -options_file_yaml jobs/gmm-demo.yaml -force -run_view 0
mpiexec -n 2 $dps eval -input out/gmm-demo-input.h5 -output out/gmm-demo-output.h5 -force
