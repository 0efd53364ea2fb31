#!/usr/bin/env bash
# SeTokim's connectors compared at one budget (the paper's Table 5 question, at our scale): the
# bundled recipe's two stages, shortened, for SeTok tokens, the LLaVA-1.5 patch grid through a
# 2-layer MLP, and a fixed number of DPC-KNN clusters merged by the same merger. Same seed, data,
# tokenizer and steps; each model is evaluated on the first LIMIT test images (VQA and POPE), and a
# Markdown table of accuracy, visual tokens per image and prefill time is printed.
#
#   bash scripts/setokim-connectors.sh [STAGE1_STEPS] [STAGE2_STEPS] [LIMIT] [OUT]
#   (defaults: 100, 300, 100, runs/connectors)
#
# Needs the scenes data of the README's training section and a tokenizer.model: the bundled run's
# (runs/setokim-stage1/tokenizer.model, or TOKENIZER=…). FIXED_K (default 5, about SeTok's mean
# token count on the test split) sets the fixed clusters; CONNECTORS limits the runs (e.g. "patch_mlp",
# so several instances with SETOK_THREADS=1 can share the cores). GEOMETRY=1 gives every connector
# token geometry (mllm/setokim.h) from stage I on; BF16=1 trains both stages in bf16 on the CPU
# (cpu_bf16, 1.5–1.6× faster where the CPU has a bf16 unit); BATCH (default 16) sets both stages'
# batch size. Each stage's progress lines (with its time) go to OUT/CONNECTOR/s1.jsonl and s2.jsonl.
# Finished stages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
S1=${1:-100}
S2=${2:-300}
LIMIT=${3:-100}
OUT=${4:-runs/connectors}
SETOK=${SETOK:-build/app/setok}
TOKENIZER=${TOKENIZER:-runs/setokim-stage1/tokenizer.model}
FIXED_K=${FIXED_K:-5}
GEOMETRY=$([[ ${GEOMETRY:-0} == 1 ]] && echo true || echo false)
BF16=$([[ ${BF16:-0} == 1 ]] && echo true || echo false)
BATCH=${BATCH:-16}
[[ -x $SETOK ]] || { echo "connectors: $SETOK is missing; build first" >&2; exit 1; }
[[ -f $TOKENIZER ]] || { echo "connectors: no tokenizer at $TOKENIZER (set TOKENIZER)" >&2; exit 1; }
[[ -f data/scenes/annotations/llava_test.json ]] || { echo "connectors: generate the scenes data first" >&2; exit 1; }
for c in ${CONNECTORS:-setok patch_mlp fixed_k}; do
  d=$OUT/$c; mkdir -p "$d"
  if [[ ! -f $d/vqa.json ]]; then
    [[ -f $d/s1/model/config.json ]] ||
      "$SETOK" train mllm --config resources/configs/setokim-small/01-stage1.json --out "$d/s1" --steps "$S1" \
        --set connector=$c --set fixed_k="$FIXED_K" --set token_geometry="$GEOMETRY" --set tokenizer="$TOKENIZER" --set checkpoint_every=0 \
        --set cpu_bf16="$BF16" --set batch_size="$BATCH" --set max_length=320 --progress jsonl >"$d/s1.jsonl"
    [[ -f $d/s2/model/config.json ]] ||
      "$SETOK" train mllm --config resources/configs/setokim-small/02-stage2.json --out "$d/s2" --steps "$S2" \
        --set init="$d/s1/model" --set checkpoint_every=0 --set cpu_bf16="$BF16" --set batch_size="$BATCH" --set max_length=320 \
        --set warmup_steps=50 --progress jsonl >"$d/s2.jsonl"
    "$SETOK" eval pope -m "$d/s2/model" --data data/scenes --split test --limit "$LIMIT" --json >"$d/pope.json"
    "$SETOK" eval vqa -m "$d/s2/model" --data data/scenes --split test --limit "$LIMIT" --json >"$d/vqa.json.tmp"
    mv "$d/vqa.json.tmp" "$d/vqa.json"
  fi
done
echo "| connector | VQA accuracy | POPE accuracy | visual tokens / image | prefill, mean ms |"
echo "| --- | --- | --- | --- | --- |"
for c in setok patch_mlp fixed_k; do
  [[ -f $OUT/$c/vqa.json ]] || continue  # not run (CONNECTORS)
  python3 - "$OUT/$c" "$c" <<'EOF'
import json, sys
d, c = sys.argv[1], sys.argv[2]
v = json.load(open(d + "/vqa.json")); p = json.load(open(d + "/pope.json"))
print(f"| {c} | {100*v['accuracy']:.1f} % | {100*p['accuracy']:.1f} % | {v['visual_tokens_per_image']:.2f} | {v['prefill_ms_mean']:.1f} |")
EOF
done
