#pragma once
// The supervised grouping loss on patch features (not in the paper): SeTok training's
// `grouping_weight` term.
#include <ATen/core/Tensor.h>

namespace setok::train {

// Supervised grouping of patch features (not in the paper; see docs/design/setok-training.md):
// a supervised contrastive loss over the patches of each image, positives being the patches of the
// same object (or both background). features [B,N,D]; patch_labels [B,N] int64 (0 background,
// k+1 object k; -1 ignored). Pulls an object's patch features together in direction, which is
// what the Token Cluster's cosine kernel groups by.
// The mean is over the patches that have a positive; `items`, when given, receives which they are
// ([B, N] bool; a data-parallel run weighs each rank's mean by their count: dist::share_of_items).
at::Tensor grouping_loss(const at::Tensor& features, const at::Tensor& patch_labels, double temperature = 0.1,
                         at::Tensor* items = nullptr);

}  // namespace setok::train
