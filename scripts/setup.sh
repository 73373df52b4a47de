#!/usr/bin/env bash
# Installs the Debian 12 packages dpsolve needs (only those missing), then configures and builds into build/.
# Usage: scripts/setup.sh [extra cmake arguments, e.g. -DDPSOLVE_CUDA=ON]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc g++ make pkg-config cmake petsc-dev libyaml-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
          libopenblas0-serial python3 python3-numpy python3-h5py python3-pil python3-scipy python3-skimage dataset-fashion-mnist
          librandom123-dev libfftw3-dev slurm-wlm munge bc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$(nproc)"
