# The Table 6 ablations of the bundled SeTok recipe, as config overrides (KEY=VALUE, given to
# `setok train setok --set`), shared by scripts/ablations.sh and scripts/gpu-ablations.sh.
# Variants: full recipe; without L_concept; without position encoding in the merger; without the
# inner-cluster layers; without the inter-cluster layers; mean-pool instead of the merger; without
# the supervised grouping term (this project's addition, docs/design/setok-training.md); the full
# recipe at a lower learning rate (a check of the recipe itself, not a Table 6 row); and the full
# recipe at four times the images per step (batch 128; it checkpoints, for runs that may be cut); and
# the recipe with supervised patch classes (semantic_weight, docs/design/setok-training.md) at its
# weight, at weight 3, at the lower learning rate, and for 1.5 times the steps (it checkpoints); the
# previous bundled recipe, with HF's patch embedding instead of the convolutional stem (`patch`);
# and the recipe for four times the steps (`long`, it checkpoints). `config=FILE` (relative to the checkout)
# names another base config than resources/configs/setok-small/01-first.json. `object-bw` clusters every
# training step at the bandwidth that gives about one token per object (object_bandwidth,
# docs/design/setok-training.md) instead of the paper's 1/(C·ln 2) (about ten per image), so the
# merger and the concept loss see whole objects in training as they do after calibration.
# shellcheck disable=SC2034
declare -A ablation_sets=(
  [full]=""
  [no-concept]="concept_weight=0"
  [no-pe]="model.merger.use_position=false"
  [no-inner]="model.merger.inner_layers=0"
  [no-inter]="model.merger.inter_layers=0"
  [mean-pool]="model.merger.mean_pool_only=true model.detokenizer.token_dim=192"
  [no-grouping]="grouping_weight=0"
  [lr-3e-4]="lr=0.0003"
  [long-b128]="batch_size=128 checkpoint_every=300"
  [semantic]="semantic_weight=1.0"
  [semantic-lr3e-4]="semantic_weight=1.0 lr=0.0003"
  [semantic-w3]="semantic_weight=3.0"
  [semantic-long]="semantic_weight=1.0 steps=1800 checkpoint_every=300"
  [patch]="config=resources/configs/ablations/setok-small-patch.json"
  [object-bw]="object_bandwidth=true"
  [long]="steps=4800 checkpoint_every=600"
)
