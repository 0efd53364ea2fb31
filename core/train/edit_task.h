#pragma once
// Editing in SeTokim's training (core/mllm/edit_request.h): from an exact triplet (input, instruction,
// edited image) the answer a model should give. Both images are tokenized; the pixels the edit
// changes decide which tokens it concerns: an input token is kept when under a `share` of its region
// changed, else changed (a concerned token of the edited image overlaps it) or removed; the edited
// image's concerned tokens are the ones to write, in writing order. Kept tokens are copied, so the
// model never learns to redraw what the instruction did not touch.
#include <ATen/core/Tensor.h>

#include <vector>

#include "core/mllm/edit_request.h"
#include "core/mllm/setokim.h"

namespace setok::train {

struct EditPlan {
  std::vector<mllm::TokenEdit> status;  // one per input token
  at::Tensor written;                   // [K] long: the edited image's tokens to write, in order
};

// Where two pictures ([1, 3, H, W], the same preprocessing) differ: [H, W] bool.
at::Tensor changed_pixels(const at::Tensor& a, const at::Tensor& b);

// `in` and `out`: the two images' raw tokens in writing order (with their patch assignment);
// `changed` [H, W] bool from changed_pixels.
EditPlan plan_edit(const mllm::VisualTokens& in, const mllm::VisualTokens& out, const at::Tensor& changed,
                   double share = 0.2);

// The share of each token's region that changed: [C] float.
at::Tensor changed_share(const mllm::VisualTokens& t, const at::Tensor& changed);

}  // namespace setok::train
