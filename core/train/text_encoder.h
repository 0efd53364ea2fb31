#pragma once
// The small text encoder SeTok's concept loss trains with (the paper uses a frozen CLIP text
// encoder, which cannot be had here): words (ids of word_vocab.h) -> embeddings -> Transformer ->
// mean -> token width.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace setok::train {

struct TextEncoderOptions {
  TORCH_ARG(int64_t, vocab_size) = 64;
  TORCH_ARG(int64_t, dim) = 128;
  TORCH_ARG(int64_t, layers) = 2;
  TORCH_ARG(int64_t, heads) = 4;
  TORCH_ARG(int64_t, max_len) = 16;
  TORCH_ARG(int64_t, out_dim) = 128;
};

struct TextEncoderImpl : torch::nn::Module {
  explicit TextEncoderImpl(const TextEncoderOptions& o);
  // ids [B, L] (0 = padding) -> [B, out_dim]
  at::Tensor forward(const at::Tensor& ids);

  TextEncoderOptions options;
  torch::nn::Embedding embed{nullptr};
  at::Tensor position;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(TextEncoder);

// A training checkpoint of a run with semantic_weight keeps its patch-class head in
// text_encoder.safetensors under this prefix, so that a resumed run finds it. The head is for
// training only: the final model never holds it, and evaluation skips it.
inline constexpr const char* kSemanticHeadPrefix = "semantic_head.";

}  // namespace setok::train
