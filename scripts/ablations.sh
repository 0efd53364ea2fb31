#!/usr/bin/env bash
# The paper's Table 6 ablations of the bundled SeTok recipe, each at the same short budget:
# trains every variant (calibrated on the val split like the bundled model), evaluates it on the
# test split, and prints a Markdown table. Needs the scenes data of the README's training section.
#
#   bash scripts/ablations.sh [STEPS] [OUT] [VARIANT…]   (defaults: 100 steps, runs/ablations, all)
#
# Finished variants are skipped, so two instances with disjoint variant lists (and SETOK_THREADS=1
# each) can share a 2-core machine; the table lists every finished variant.
# Variants: scripts/ablation-variants.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-100}
OUT=${2:-runs/ablations}
SETOK=${SETOK:-build/app/setok}
CFG=resources/configs/setok-small/01-first.json
DATA=data/scenes
[[ -x $SETOK ]] || { echo "ablations: $SETOK is missing; build first (bash packaging/setup.sh build)" >&2; exit 1; }
[[ -f $DATA/annotations/instances_val.json && -f $DATA/annotations/instances_test.json ]] ||
  { echo "ablations: generate the scenes data first (README, Training and models)" >&2; exit 1; }

# shellcheck source=scripts/ablation-variants.sh
source scripts/ablation-variants.sh
names=(full no-concept no-pe no-inner no-inter mean-pool no-grouping lr-3e-4)
run=("${@:3}")
[[ ${#run[@]} -gt 0 ]] || run=("${names[@]}")
mkdir -p "$OUT"
for n in "${run[@]}"; do
  [[ -v "ablation_sets[$n]" ]] || { echo "ablations: unknown variant $n (${!ablation_sets[*]})" >&2; exit 1; }
  if [[ ! -f $OUT/$n/eval_test.json ]]; then
    echo "ablations: $n ($STEPS steps)" >&2
    args=() cfg=$CFG
    for kv in ${ablation_sets[$n]}; do
      if [[ $kv == config=* ]]; then cfg=${kv#config=}; else args+=(--set "$kv"); fi
    done
    "$SETOK" train setok --config "$cfg" --out "$OUT/$n" --steps "$STEPS" --set checkpoint_every=0 \
      "${args[@]}" --progress jsonl > "$OUT/$n.jsonl"
    "$SETOK" eval setok -m "$OUT/$n/model" --data "$DATA" --split test --json > "$OUT/$n/eval_test.json.tmp"
    mv "$OUT/$n/eval_test.json.tmp" "$OUT/$n/eval_test.json"
  fi
done
python3 - "$OUT" "$STEPS" "${names[@]}" <<'PY'
import json, sys
out, steps, names = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"| variant ({steps} steps) | FG-ARI | mIoU | tokens/img | within ±1 | PSNR dB | SSIM | concept top-1 | train s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for n in names:
    try:
        e = json.load(open(f"{out}/{n}/eval_test.json"))
    except FileNotFoundError:
        continue
    done = [json.loads(l) for l in open(f"{out}/{n}.jsonl") if '"done"' in l][-1]
    c = e.get("concept_top1")
    print(f"| {n} | {e['fg_ari']:.3f} | {e['miou']:.3f} | {e['tokens_per_image']:.2f} | "
          f"{e['tokens_within_one_of_objects_plus_one']:.3f} | {e['psnr_db']:.1f} | {e['ssim']:.3f} | "
          f"{'n/a' if c is None else f'{c:.3f}'} | {done['seconds']:.0f} |")
PY
