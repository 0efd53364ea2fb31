#!/usr/bin/env bash
# On a machine with CMake, a compiler, CUDA and Python's torch (and nothing else): builds core,
# kernels, the CLI and their tests against the CUDA LibTorch inside the torch package, runs the GPU
# and unit tests, then the GPU benchmarks, and writes the HuggingFace parity fixtures with Python's
# transformers when it is there.
#
#   bash packaging/gpu-check.sh [FIGURES_DIR] [PACKED_TRAIN_DATA]
#
# Needs .deps/ from packaging/gpu-deps.sh. FIGURES_DIR (default build-gpu/figures) receives
# figures.jsonl (one JSON document per benchmark), gpu.log and hf/ (the fixtures). PACKED_TRAIN_DATA
# is a `setok data pack` file (machines without OpenCV cannot read PNGs): with it, the bundled
# recipe's training throughput is measured on the GPU. Every step runs under a time limit and a
# failed step does not stop the later ones; the exit status says whether all passed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SETOK_BUILD_DIR:-$root/build-gpu}
out=${1:-$build/figures}
packed=${2:-}
mkdir -p "$out"
log=$out/gpu.log
figs=$out/figures.jsonl
: >"$figs"
status=0
step() {  # step NAME SECONDS COMMAND...: runs it, logs it, remembers a failure
  local name=$1 limit=$2
  shift 2
  echo "=== $name ($(date +%T))" >>"$log"
  timeout "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc" >>"$log"
  [ $rc -eq 0 ] || status=1
  return $rc
}
fig() {  # fig NAME SECONDS COMMAND...: a benchmark whose stdout is JSON, tagged with its name
  local name=$1 limit=$2
  shift 2
  echo "=== $name ($(date +%T))" >>"$log"
  local j
  if j=$(timeout "$limit" "$@" 2>>"$log"); then
    printf '{"bench":"%s","result":%s}\n' "$name" "$(echo "$j" | tr -d '\n')" >>"$figs"
  else
    echo "=== $name failed" >>"$log"
    status=1
  fi
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$log" 2>&1
# The most GPU memory in use while this script runs (every 0.2 s), CUDA contexts included.
(while sleep 0.2; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; done >"$build.mem" 2>/dev/null) &
sampler=$!

fixtures=
if python3 -c 'import transformers' 2>/dev/null; then
  (timeout 300 python3 "$root/scripts/hf_parity_fixtures.py" "$out/hf" >"$out/hf.log" 2>&1) &
  fixtures=$!
fi

prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
step configure 120 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSETOK_BUILD_UI=OFF \
  -DSETOK_WITH_OPENCV=OFF -DSETOK_CUDA=ON -DCMAKE_PREFIX_PATH="$prefix" -DSETOK_DEPS_DIR="$root/.deps" \
  ${SETOK_CMAKE_ARGS:-}
# The CLI and the GPU tests first, so the benchmarks run even if the rest of the build is slow.
step build 360 cmake --build "$build" -j "$(nproc)" --target setok setok_gpu_tests -- -k 0
setok=$build/app/setok
if [ -x "$setok" ]; then
  fig doctor 60 "$setok" doctor --json
  step gpu-tests 120 ctest --test-dir "$build" -L gpu --output-on-failure
  fig cluster-729x1152-b64 60 "$setok" bench cluster --device cuda --batch 64 --repeats 20 --json
  fig cluster-729x1152-b1 60 "$setok" bench cluster --device cuda --batch 1 --repeats 50 --json
  fig cluster-256x192-b32 60 "$setok" bench cluster --device cuda --n 256 --dim 192 --max-tokens 16 --batch 32 \
    --repeats 50 --json
  fig llm-tinyllama-bf16 120 "$setok" bench llm --preset tinyllama --device cuda --dtype bf16 \
    --prompt 128 --prompt 512 --prompt 2048 --new 32 --json
  fig llm-small-f32 60 "$setok" bench llm --preset small --device cuda --prompt 128 --prompt 512 --new 32 --json
  if [ -n "$packed" ]; then
    for v in "bf16-b32 mixed_precision=true batch_size=32" "f32-b32 mixed_precision=false batch_size=32" \
             "bf16-b128 mixed_precision=true batch_size=128"; do
      set -- $v
      name=$1 && shift
      sets=()
      for kv in "$@" calibrate=false val_data= checkpoint_every=0 log_every=10; do sets+=(--set "$kv"); done
      echo "=== train-$name ($(date +%T))" >>"$log"
      if timeout 150 "$setok" train setok --config "$root/resources/configs/setok-small/01-first.json" --data "$packed" \
        --device cuda --steps 60 --out "$build/train-$name" --progress jsonl "${sets[@]}" >"$build/train.jsonl" \
        2>>"$log"; then
        printf '{"bench":"train-%s","result":%s}\n' "$name" "$(grep '"event":"done"' "$build/train.jsonl" | tail -1)" >>"$figs"
        tail -2 "$build/train.jsonl" >>"$log"
      else
        tail -5 "$build/train.jsonl" >>"$log"
        status=1
      fi
    done
  fi
  step build-all 240 cmake --build "$build" -j "$(nproc)" -- -k 0 &&
    step unit-tests 150 ctest --test-dir "$build" -L unit --output-on-failure -j 8
fi
if [ -n "$fixtures" ]; then
  wait "$fixtures" || status=1
  cat "$out/hf.log" >>"$log"
  rm -f "$out/hf.log"
fi
kill "$sampler" 2>/dev/null
printf '{"bench":"peak-gpu-memory-mib","result":%s}\n' "$(sort -n "$build.mem" | tail -1)" >>"$figs"
echo "gpu-check: exit $status" >>"$log"
exit $status
