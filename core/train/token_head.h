#pragma once
// The token head: an optional residual MLP between SeTok's tokens and the text side of the concept
// loss, saved beside the text encoder in text_encoder.safetensors.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace setok::train {

// Not in the paper: a residual MLP that a token passes through before it meets the text side of
// the concept loss and of zero-shot concept scoring, the visual counterpart of the text encoder's
// `proj` (as CLIP projects its image features). x + fc2(GELU(fc1(LN(x)))), fc2 zero at first, so a
// head added to a trained model starts as the identity and scores what the model scored. It reads
// the token and changes nothing the tokenizer, the decoder or SeTokim see; with it, concept top-1
// measures what a small non-linear read-out finds in a token rather than a linear one
// (docs/design/setok-training.md).
struct TokenHeadImpl : torch::nn::Module {
  TokenHeadImpl(int64_t dim, int64_t hidden);
  at::Tensor forward(const at::Tensor& tokens);  // [..., dim] -> [..., dim]
  int64_t hidden() const { return fc1->options.out_features(); }

  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TokenHead);

// The head's tensors ride in text_encoder.safetensors under this prefix.
inline constexpr const char* kTokenHeadPrefix = "token_head.";

// The width of the token head a model's config.json `concept` section names (token_head.hidden);
// 0 when it names none.
inline int64_t token_head_width(const nlohmann::json& concept) {
  return concept.contains("token_head") ? concept["token_head"].value("hidden", int64_t{0}) : 0;
}

}  // namespace setok::train
