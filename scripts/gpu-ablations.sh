#!/usr/bin/env bash
# The Table 6 ablations of the bundled SeTok recipe at its full budget (1200 steps at batch 32), all
# trained at once on one CUDA machine, plus the recipe at four times the images (batch 128). Builds
# the core configuration against Python's CUDA LibTorch (like packaging/gpu-check.sh), trains every
# variant in its own process, calibrates it on val, evaluates it on test and prints the table.
#
#   bash scripts/gpu-ablations.sh OUT PACKDIR
#
# PACKDIR holds `setok data pack` files train, val and test (.safetensors, or .safetensors.xz): made
# from the README's scenes data with `setok data pack --data data/scenes --split S --out PACKDIR/S.safetensors`.
# OUT receives results.jsonl (one line per variant: its training's last lines and its test
# evaluation), table.md, log.txt, and the f16 models of the variants named in KEEP (default: `full`
# and `long-b128`) as .tar files.
# VARIANTS (default: all eight) picks some. On an H100 the variants share the GPU: four at once
# train at ~200 images/s each (~800 together, 83 % GPU busy), so all eight need ~7 minutes.
# TRAIN_LIMIT (seconds, default 360) bounds every training; a variant that runs out is reported as
# such, and `long-b128`, which checkpoints, is then evaluated from its last checkpoint. DEVICE
# (default cuda) and EXTRA_SETS (config overrides for every variant, e.g. "steps=2") exist for a dry
# run on a machine without a GPU.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: gpu-ablations.sh OUT PACKDIR}
pack=${2:?usage: gpu-ablations.sh OUT PACKDIR}
limit=${TRAIN_LIMIT:-360}
build=${SETOK_BUILD_DIR:-$root/build-gpu}
work=$build/ablations
mkdir -p "$out" "$work"
log=$out/log.txt
: >"$log"

for s in train val test; do
  if [ -f "$pack/$s.safetensors.xz" ] && [ ! -f "$work/$s.safetensors" ]; then
    xz -dc "$pack/$s.safetensors.xz" >"$work/$s.safetensors.tmp" && mv "$work/$s.safetensors.tmp" "$work/$s.safetensors"
  elif [ -f "$pack/$s.safetensors" ]; then
    ln -sf "$(cd "$pack" && pwd)/$s.safetensors" "$work/$s.safetensors"
  fi
  [ -f "$work/$s.safetensors" ] || { echo "gpu-ablations: $pack has no $s.safetensors[.xz]" | tee -a "$log" >&2; exit 1; }
done

setok=${SETOK:-$build/app/setok}
if [ ! -x "$setok" ]; then
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSETOK_BUILD_UI=OFF -DSETOK_WITH_OPENCV=OFF \
    -DSETOK_CUDA=ON -DCMAKE_PREFIX_PATH="$prefix" -DSETOK_DEPS_DIR="$root/.deps" >>"$log" 2>&1 &&
    cmake --build "$build" -j "$(nproc)" --target setok >>"$log" 2>&1 ||
    { echo "gpu-ablations: build failed (see $log)" >&2; tail -20 "$log" >&2; exit 1; }
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >>"$log" 2>&1

# shellcheck source=scripts/ablation-variants.sh
source "$root/scripts/ablation-variants.sh"
names=(${VARIANTS:-full no-concept no-pe no-inner no-inter mean-pool no-grouping long-b128})
for n in "${names[@]}"; do
  [[ -v "ablation_sets[$n]" ]] || { echo "gpu-ablations: unknown variant $n (${!ablation_sets[*]})" >&2; exit 1; }
done
threads=$(($(nproc) / ${#names[@]}))
[ "$threads" -ge 1 ] || threads=1

(while sleep 0.5; do nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits; done \
  >"$work/gpu.samples" 2>/dev/null) &
sampler=$!

variant() {  # variant NAME: train, calibrate on val, evaluate on test
  local n=$1 dir=$work/$1 args=() cfg=resources/configs/setok-small/01-first.json
  for kv in checkpoint_every=0 ${ablation_sets[$n]} ${EXTRA_SETS:-}; do
    if [[ $kv == config=* ]]; then cfg=${kv#config=}; else args+=(--set "$kv"); fi
  done
  rm -rf "$dir"
  SETOK_THREADS=$threads timeout "$limit" "$setok" train setok --config "$root/$cfg" \
    --data "$work/train.safetensors" --set "val_data=$work/val.safetensors" --device "${DEVICE:-cuda}" --out "$dir" \
    --progress jsonl "${args[@]}" >"$work/$n.jsonl" 2>"$work/$n.err"
  echo "$n: train exit $? after $SECONDS s" >>"$log"
  local model=$dir/model
  [ -f "$model/config.json" ] || model=$dir/checkpoint
  if [ -f "$model/config.json" ]; then
    SETOK_THREADS=$threads "$setok" eval setok -m "$model" --data "$work/test.safetensors" --json \
      >"$work/$n.eval.json" 2>>"$work/$n.err"
    echo "$n: eval exit $? ($model)" >>"$log"
  fi
}

SECONDS=0
for n in "${names[@]}"; do variant "$n" & done
wait $(jobs -p | grep -v "^$sampler\$")
kill "$sampler" 2>/dev/null

python3 - "$work" "$out" "${names[@]}" <<'PY'
import json, os, sys
work, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
with open(f"{out}/results.jsonl", "w") as res:
    for n in names:
        lines = []
        try:
            lines = [json.loads(l) for l in open(f"{work}/{n}.jsonl") if l.startswith("{")]
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        done = next((l for l in reversed(lines) if l.get("event") == "done"), None)
        cal = next((l for l in reversed(lines) if l.get("event") == "calibrated"), None)
        last = next((l for l in reversed(lines) if l.get("event") == "step"), None)
        ev = None
        if os.path.exists(f"{work}/{n}.eval.json"):
            try:
                ev = json.load(open(f"{work}/{n}.eval.json"))
            except json.JSONDecodeError:
                pass
        rec = {"variant": n, "done": done, "calibrated": cal, "last_step": last, "test": ev}
        res.write(json.dumps(rec) + "\n")
        rows.append(rec)
with open(f"{out}/table.md", "w") as t:
    t.write("| variant | steps | FG-ARI | mIoU | tokens/img | within ±1 | PSNR dB | SSIM | concept top-1 | train s |\n")
    t.write("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    for r in rows:
        e, d, s = r["test"], r["done"], r["last_step"] or {}
        if e is None:
            t.write(f"| {r['variant']} | {s.get('step', 0)} (stopped) | | | | | | | | |\n")
            continue
        steps = d["step"] if d else f"{s.get('step', '?')} (checkpoint)"
        secs = f"{d['seconds']:.0f}" if d else "—"
        c = e.get("concept_top1")
        t.write(f"| {r['variant']} | {steps} | {e['fg_ari']:.3f} | {e['miou']:.3f} | {e['tokens_per_image']:.2f} | "
                f"{e['tokens_within_one_of_objects_plus_one']:.3f} | {e['psnr_db']:.1f} | {e['ssim']:.3f} | "
                f"{'n/a' if c is None else f'{c:.3f}'} | {secs} |\n")
PY
cat "$out/table.md"
for n in ${KEEP:-full long-b128}; do
  m=$work/$n/model
  [ -f "$m/config.json" ] || m=$work/$n/checkpoint
  [ -f "$m/config.json" ] || continue
  rm -rf "$work/$n-f16"
  "$setok" convert -m "$m" --out "$work/$n-f16" --dtype f16 >>"$log" 2>&1 &&
    tar -C "$work" -cf "$out/$n-f16.tar" "$n-f16/config.json" "$n-f16/model.safetensors" "$n-f16/text_encoder.safetensors"
done
sort -n -t, -k1 "$work/gpu.samples" | tail -1 | sed 's/^/peak GPU memory MiB, utilisation %: /' >>"$log"
awk -F, '{u += $2; k++} END {if (k) printf "mean GPU utilisation %.0f %% over %d samples\n", u / k, k}' \
  "$work/gpu.samples" >>"$log"
for n in "${names[@]}"; do tail -2 "$work/$n.err" | sed "s/^/$n: /" >>"$log"; done
