#!/usr/bin/env bash
# The UNet on a GPU, in one command (for a machine with CUDA and a BLAS but no PETSc or MPI, e.g. a lent device):
#   bench/unet/gpu.sh [out-dir]
# Builds the kernels alone (-DDPSOLVE_KERNELS_ONLY=ON, CUDA on), runs the CUDA tests (the backend against the CPU
# backend in float32 and TF32, the FFHQ-size configuration, the GMM kernels, Philox on the device), then the
# throughput of the CUDA backend and, where PyTorch with CUDA is installed, of PyTorch on the same GPU and
# batches. Everything it prints is also written to out-dir (default out/unet-gpu).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/unet-gpu}
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
cmake -S . -B build-gpu -DDPSOLVE_KERNELS_ONLY=ON -DDPSOLVE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build build-gpu -j"$(nproc)" >/dev/null || { echo "gpu.sh: the build failed"; exit 1; }
ctest --test-dir build-gpu --output-on-failure -R 'kernels_' ; tests=$?

for mode in "" "-tf32"; do
  build-gpu/bench_unet fmnist32 1 8 64 256 -vjp -seconds 3 -cuda $mode
  build-gpu/bench_unet ffhq 1 4 8 -vjp -seconds 5 -cuda $mode
done
py=/usr/bin/python3; command -v "$py" >/dev/null || py=python3
if "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  for mode in "" "--tf32"; do
    "$py" bench/unet/torch_bench.py fmnist32 1 8 64 256 --vjp --seconds 3 --device cuda $mode
    "$py" bench/unet/torch_bench.py ffhq 1 4 8 --vjp --seconds 5 --device cuda $mode
  done
else
  echo "gpu.sh: no PyTorch with CUDA here: no PyTorch comparison"
fi
exit $tests
