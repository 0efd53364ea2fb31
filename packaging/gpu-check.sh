#!/usr/bin/env bash
# On a machine with CMake, a compiler, CUDA and Python's torch (and nothing else): builds core,
# kernels, the CLI and their tests against the CUDA LibTorch inside the torch package, then runs
# the unit and GPU tests and the GPU benchmarks. Needs .deps/ from packaging/gpu-deps.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SETOK_BUILD_DIR:-$root/build-gpu}
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSETOK_BUILD_UI=OFF -DSETOK_WITH_OPENCV=OFF \
  -DSETOK_CUDA=ON -DCMAKE_PREFIX_PATH="$prefix" -DSETOK_DEPS_DIR="$root/.deps" ${SETOK_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
"$build/app/setok" doctor --json
ctest --test-dir "$build" -L 'unit|gpu' --output-on-failure -j 4
