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
  libsentencepiece-dev libcli11-dev zlib1g-dev
  # distributed training on PyTorch's c10d (ProcessGroupGloo's headers include gloo's)
  libgloo-dev
  # the scenes world's real ingredients (core/data/assets.cpp): Fashion-MNIST items, photo backgrounds
  dataset-fashion-mnist opencv-doc
  # ui
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libqt6svg6 libimgui-dev libgl-dev
  # tests
  libgtest-dev libgmock-dev xvfb xauth libgl1-mesa-dri python3-numpy
  # format check (scripts/check-format.sh, run by CI before the build): clang-format 14
  clang-format
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

# More photo backgrounds: python3-skimage's data folder. Installing the package would pull in a whole
# Python stack for a few images, so fetch the .deb and unpack its files only (no Python runs). The
# C++ side looks for them under /usr/local/share/setok/python3-skimage (core/data/assets.cpp).
SKIMAGE_CACHE=/var/cache/setok
SKIMAGE_ROOT=/usr/local/share/setok/python3-skimage
if [ ! -f "$SKIMAGE_ROOT/.unpacked" ]; then
  mkdir -p "$SKIMAGE_CACHE"
  deb=$(ls "$SKIMAGE_CACHE"/python3-skimage_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    [ -n "${missing[*]:-}" ] || apt-get update -qq
    # _apt cannot write to a root-owned cache folder; download as root into it (apt warns, harmlessly).
    (cd "$SKIMAGE_CACHE" && apt-get download -qq python3-skimage 2>/dev/null)
    deb=$(ls "$SKIMAGE_CACHE"/python3-skimage_*.deb | head -n1)
  fi
  rm -rf "$SKIMAGE_ROOT.tmp"
  mkdir -p "$SKIMAGE_ROOT.tmp"
  dpkg-deb -x "$deb" "$SKIMAGE_ROOT.tmp"
  touch "$SKIMAGE_ROOT.tmp/.unpacked"
  rm -rf "$SKIMAGE_ROOT"
  mv "$SKIMAGE_ROOT.tmp" "$SKIMAGE_ROOT"
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
