#pragma once
// One image's prompts, and a batch of them as the decoder reads it (padding each kind to the
// batch's longest). Shared by the segmenter and the trainer, so both feed the decoder alike.
#include <ATen/core/Tensor.h>

#include <vector>

#include "core/heads/prompt_encoder.h"

namespace setok::heads {

struct PromptSample {
  std::vector<float> points;         // x0, y0, x1, y1, … in [0, 1] of the model's square input
  std::vector<std::int64_t> labels;  // one per point: kNegative, kPositive, kBoxTopLeft, kBoxBottomRight
  at::Tensor request;                // [T, 2 × language_dim] (states, input embeddings) or undefined
  at::Tensor visual;                 // [C, language_dim] or undefined (with request)
  at::Tensor visual_input;           // [C, language_dim]: the projected visual tokens (with visual)
  at::Tensor assignment;             // [grid²] long: the visual token of each patch (with visual)
  at::Tensor dense;                  // [low_res, low_res] logits or undefined
};

Prompts collate_prompts(const std::vector<PromptSample>& samples, const MaskDecoderConfig& config);

// Each token's centroid (x, y) in [0, 1] from the patch assignment [gh * gw] → [count, 2].
at::Tensor token_centroids(const at::Tensor& assignment, std::int64_t count, std::int64_t gh, std::int64_t gw);

// A 0/1 mask [H, W] (any size) as dense-prompt logits [side, side]: the area fraction f of each cell
// becomes 20·(f − ½), saturated logits as a confident previous mask has them.
at::Tensor mask_to_logits(const at::Tensor& mask, std::int64_t side);

}  // namespace setok::heads
