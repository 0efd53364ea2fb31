#!/usr/bin/env bash
# Trains the bundled setok-small again from nothing, in one command: the scenes data of its card,
# the first training, the fine-tunings and calibrations in the card's order, the decoder stages, the text
# encoder's stage, the merger's stage, the edge calibration, the f16 conversion,
# and the evaluation on the test and compositional splits (printed as one JSON line each).
#
#   bash scripts/reproduce-setok-small.sh [--dry-run] [OUT]   (default runs/reproduce-setok-small)
#
# The configs are resources/configs/setok-small/ (its README says which stage uses which); SETOK
# names the `setok` program (default build/app/setok). --dry-run prints every command, runs nothing.
# Every stage writes OUT/STAGE/model and then OUT/STAGE.done, and is skipped when that is there, so
# a run that was stopped picks up at the stage it was in (from the stage's start; `setok train
# --resume OUT/STAGE/checkpoint` continues one mid-way). The result is OUT/setok-small (f16), to be compared
# with resources/models/setok-small. It is the card's recipe, not the bundled bits: some bundled
# stages started from an earlier commit's f16 weights rather than the f32 run before them (card).
# The card's stage times add up to about 14.6 hours as run on its 2-core machines, about 11 hours alone
# on the faster of them: more than the 2 hours the first training alone fits in.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/stages.sh
source scripts/stages.sh
SETOK=${SETOK:-build/app/setok}
stages_setup runs/reproduce-setok-small "$@"
DATA=data/scenes
C=resources/configs/setok-small
FT=$C/02-finetune.json
DEC=$C/03-decoder.json

if [[ ! -f $DATA/annotations/instances_compositional.json ]]; then
  note "data: $DATA"
  run "$SETOK" data scenes --out "$DATA" --count 6000 --split train --size 128 --no-edits --seed 0
  for split in val test compositional; do
    run "$SETOK" data scenes --out "$DATA" --count 300 --split "$split" --size 128 --no-edits
  done
fi

# train_scenes COUNT DIR: a larger training split for the later decoder stages, written once (its
# first images are those of every smaller one: each image depends only on seed, split and index).
train_scenes() {
  [[ -f $2/annotations/instances_train.json ]] && return
  note "data: $2"
  run "$SETOK" data scenes --out "$2" --count "$1" --split train --size 128 --no-edits --seed 0
}

# train NAME CONFIG [--set KEY=VALUE …]: one SeTok training run into OUT/NAME (scripts/stages.sh).
train() { stage "$1" setok "${@:2}"; }

train first "$C/01-first.json"
train finetune1 "$FT" --set "init=$OUT/first/model"
train finetune2 "$FT" --set "init=$OUT/finetune1/model" --set steps=800
train finetune3 "$FT" --set "init=$OUT/finetune2/model" --set steps=800 --set concept_weight=0.5
once finetune3-islands "$SETOK" calibrate -m "$OUT/finetune3/model" --data "$DATA" --islands 4,6,8,12 \
  --min-region-patches 0,2,3,4,5,6,8
train finetune4 "$FT" --set "init=$OUT/finetune3/model" --set steps=400 --set concept_weight=0.5
# A new detokenizer that reads each token's region descriptor, on the frozen tokens of finetune4.
train decoder "$DEC" --set "init=$OUT/finetune4/model"
# The same decoder, 300 more steps at a lower rate.
train decoder2 "$DEC" --set "init=$OUT/decoder/model" --set 'reinit=[]' \
  --set lr=3e-4 --set steps=300 --set warmup_steps=10
train decoder3 "$DEC" --set "init=$OUT/decoder2/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=200 --set warmup_steps=10
train decoder4 "$DEC" --set "init=$OUT/decoder3/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=600 --set warmup_steps=10
train decoder5 "$DEC" --set "init=$OUT/decoder4/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=600 --set warmup_steps=10
# The same decoder with one more block and one more residual block per stage (each added block
# starting as the identity), 600 more steps.
train grow "$DEC" --set "init=$OUT/decoder5/model" --set 'reinit=[]' \
  --set 'grow=["detokenizer"]' --set model.detokenizer.layers=3 --set model.detokenizer.decoder_res_blocks=2 \
  --set lr=2e-4 --set steps=600 --set warmup_steps=10
train grow2 "$DEC" --set "init=$OUT/grow/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=600 --set warmup_steps=10
train grow3 "$DEC" --set "init=$OUT/grow2/model" --set 'reinit=[]' \
  --set lr=3e-4 --set steps=600 --set warmup_steps=10
# 1200 more in bf16, then 1800 more on twice the training images (the first 6000 the same).
train grow4 "$DEC" --set "init=$OUT/grow3/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=1200 --set warmup_steps=10 --set cpu_bf16=true
train_scenes 12000 data/scenes-12k
train grow5 "$DEC" --set "init=$OUT/grow4/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=1800 --set warmup_steps=10 --set cpu_bf16=true \
  --set train_data=data/scenes-12k/annotations/instances_train.json
# 1800 more on four times the training images (the first 12 000 the same).
train_scenes 24000 data/scenes-24k
train grow6 "$DEC" --set "init=$OUT/grow5/model" --set 'reinit=[]' \
  --set lr=2e-4 --set steps=1800 --set warmup_steps=10 --set cpu_bf16=true \
  --set train_data=data/scenes-24k/annotations/instances_train.json
# The text side alone against the finished tokens: everything of the tokenizer frozen, nothing drawn.
train text "$C/04-text.json" --set "init=$OUT/grow6/model"
# The merger and the text encoder against the frozen decoder (reconstruction and concept), the
# encoder and clustering frozen, so the grouping stays as it is.
train merger "$C/05-merger.json" --set "init=$OUT/text/model"
# Edge passes (and σ, β again) on val: no weight changes, only the clustering's settings.
once merger-edges "$SETOK" calibrate -m "$OUT/merger/model" --data "$DATA" --edge-passes 0,1,2,4,8,16

note "f16 and evaluation"
run "$SETOK" convert -m "$OUT/merger/model" --out "$OUT/setok-small" --dtype f16
for split in test compositional; do
  run "$SETOK" eval setok -m "$OUT/setok-small" --data "$DATA" --split "$split" --json
done
