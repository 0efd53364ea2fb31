#pragma once
// Generation in SeTokim's training (§2.2: L_vis beside the text loss): a request whose answer is
// an image, [Img] t1 … tC [/Img], the tokens in generation order. The text loss covers [Img] and
// [/Img]; this adds, for each answer token, the diffusion loss of the token given the language
// model's state one position before it, and, at the answer's [Img] and every visual token but the
// last, a loss against stopping there (-log(1 - p([/Img]))), so that the model itself decides when
// the image is whole (an edit's answer may have no token: then [/Img] follows [Img] in the text loss).
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/heads/diffusion_head.h"
#include "core/llm/llama_model.h"
#include "core/mllm/setokim.h"
#include "core/mllm/token_order.h"

namespace setok::train {

// The tokens an answer must write, and where they sit in its sequence.
struct GenerationTarget {
  std::int64_t start = 0;  // position of the first visual token
  at::Tensor tokens;       // [C, width]: vector then region descriptor, in generation order
};

using mllm::in_generation_order;  // core/mllm/token_order.h
using mllm::packed_tokens;

// A batch's targets in flat [B · T] positions.
struct GenerationBatch {
  at::Tensor condition_index;  // [K] the state that writes each token
  at::Tensor targets;          // [K, width]
  at::Tensor
      continue_index;  // [S] states that must not end the image: its [Img], and visual tokens followed by another
  bool empty() const { return !targets.defined() || targets.size(0) == 0; }
};
// targets[b] for sequence b (undefined tokens: not a generation example), sequences padded to
// `length` (tokens past it are dropped).
GenerationBatch generation_batch(const std::vector<GenerationTarget>& targets, std::int64_t length,
                                 const at::Device& device);

struct GenerationLosses {
  at::Tensor vis, stop;  // scalars
};
// hidden [B, T, D]: the language model's final states for the batch.
GenerationLosses generation_losses(llm::LlamaForCausalLMImpl& lm, heads::DiffusionHeadImpl& head,
                                   const at::Tensor& hidden, const GenerationBatch& b, std::int64_t img_end,
                                   std::int64_t repeats, const at::Generator& noise = {});

}  // namespace setok::train
