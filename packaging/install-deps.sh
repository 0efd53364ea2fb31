#!/usr/bin/env bash
# Installs everything SeTok Studio needs from Debian 12 packages. Idempotent: packages already
# present are skipped by apt, and the BLAS alternative is (re)pointed at OpenBLAS every run.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get install needs it)" >&2
  exit 1
fi

PKGS=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # core
  libtorch-dev libopenblas0-pthread libopenblas-dev libopencv-dev nlohmann-json3-dev
  libsentencepiece-dev libcli11-dev
  # ui
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libqt6svg6 libimgui-dev libgl-dev
  # tests
  libgtest-dev libgmock-dev xvfb xauth libgl1-mesa-dri python3-numpy
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LibTorch links against the generic libblas.so.3 / liblapack.so.3; Debian's reference BLAS is
# ~50x slower than OpenBLAS for matmul, so make OpenBLAS the active alternative.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  cand="/usr/lib/$arch/openblas-pthread/$lib"
  if [ -e "$cand" ]; then
    update-alternatives --set "$lib-$arch" "$cand" >/dev/null
  fi
done
echo "install-deps: ok ($(update-alternatives --query libblas.so.3-$arch 2>/dev/null | sed -n 's/^Value: //p'))"
