#pragma once
// Concept-level image-text contrastive loss (paper §2.1, Eq. 5–7), read at the level of tokens:
// each annotated object's token (the token that covers most of it) against prompts of the labels
// in the batch, in both directions. See docs/design/setok-training.md.
#include <ATen/core/Tensor.h>

#include <vector>

namespace setok::train {

// Which token stands for each object: argmax over tokens of the overlap between the token's hard
// mask and the object's patch mask. hard_masks [N, C] (one image), object_masks [K, N] -> [K].
at::Tensor object_tokens(const at::Tensor& hard_masks, const at::Tensor& token_valid, const at::Tensor& object_masks);

// Whether each object's token (which [K], from object_tokens) is its own: IoU >= 0.5 on the patch
// grid between the object's patches (those it covers at least half of) and the token's. -> [K] bool.
at::Tensor own_tokens(const at::Tensor& hard_masks, const at::Tensor& which, const at::Tensor& object_masks);

struct ConceptLoss {
  at::Tensor loss;  // L_{I→T} + L_{T→I} (Eq. 7)
  at::Tensor token_to_text, text_to_token;
  double accuracy = 0;  // objects whose own label's prompt scores highest
};

// tokens [M, d] (one per object, from any images of the batch), texts [L, d] (one prompt per
// distinct label), labels [M] in [0, L); logit_scale = 1/τ (learnable, applied as is).
ConceptLoss concept_contrastive_loss(const at::Tensor& tokens, const at::Tensor& texts, const at::Tensor& labels,
                                     const at::Tensor& logit_scale);

}  // namespace setok::train
