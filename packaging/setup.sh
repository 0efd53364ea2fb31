#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root):
#   bash packaging/setup.sh run    install, build, `setok doctor`, open the studio on a sample image
#   bash packaging/setup.sh test   install, build, run the whole test suite
# SETOK_BUILD_DIR picks the build folder (default: build/ in the checkout).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-run}
case "$mode" in run|test|build) ;; *) echo "usage: setup.sh run|test|build" >&2; exit 2 ;; esac

bash "$root/packaging/install-deps.sh"

build=${SETOK_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${SETOK_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"

case "$mode" in
  run)
    "$build/app/setok" doctor
    sample="$root/resources/samples/coffee.png"
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      exec "$build/app/setok-studio" "$sample"
    else
      # No display (a server or CI): render the window to a picture instead of showing it.
      xvfb-run -a -s "-screen 0 1920x1080x24" "$build/app/setok-studio" "$sample" --screenshot "$build/studio.png"
      echo "No display found: the studio window was rendered to $build/studio.png"
    fi
    ;;
  test)
    cd "$build"
    ctest --output-on-failure -j "$(nproc)" --timeout 1800
    ;;
esac
