#!/usr/bin/env bash
# Gathers what the GPU build needs but a bare CUDA machine lacks, from this machine's Debian
# packages, into .deps/: nlohmann-json and CLI11 headers, GoogleTest's source. Carry .deps to the
# GPU machine with the working tree, then run packaging/gpu-check.sh there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/packaging/install-deps.sh" >/dev/null
rm -rf "$root/.deps" && mkdir -p "$root/.deps/include"
cp -r /usr/include/nlohmann /usr/include/CLI "$root/.deps/include/"
cp -r /usr/src/googletest "$root/.deps/googletest"
echo "gpu-deps: $(du -sh "$root/.deps" | cut -f1) in .deps/"
