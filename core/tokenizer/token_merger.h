#pragma once
// SeTok's Token Merger (§2.1): patch features + concept masks -> one visual token per cluster.
// How the paper's X̃c = PE(X)⊙Mc ⊕ X⊙Mc is read: docs/design/merger-detokenizer.md.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace setok::tokenizer {

struct TokenMergerOptions {
  TORCH_ARG(int64_t, dim_in) = 1152;  // patch feature width D (the encoder's)
  TORCH_ARG(int64_t, dim) = 1152;     // model width of the inner/inter-cluster layers
  TORCH_ARG(int64_t, dim_out) = 512;  // visual token width d_tok
  TORCH_ARG(int64_t, inner_layers) = 12;
  TORCH_ARG(int64_t, inter_layers) = 8;
  TORCH_ARG(int64_t, heads) = 16;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  // 2D RoPE in the inner-cluster attention; false = the "without PE" ablation.
  TORCH_ARG(bool, use_position) = true;
  TORCH_ARG(double, rope_theta) = 100.0;
  // Not in the reading above alone: a fixed 2D sinusoidal table of each patch's place, through a
  // linear layer, added to the features before the inner layers (the paper's ⊕
  // taken literally). RoPE is relative, and the pooled values carry no place of their own: without
  // this a token says what a cluster is but not where it is (docs/design/merger-detokenizer.md).
  TORCH_ARG(bool, absolute_position) = false;
  // No parameters at all: tokens are the (mask-weighted) mean of each cluster's patch features,
  // dim_out = dim_in. The plain-pooling baseline.
  TORCH_ARG(bool, mean_pool_only) = false;

 public:
  // §3 / D.1: SigLIP-SO400M features (1152), 12 inner + 8 inter layers at the encoder's width, 512-d tokens.
  static TokenMergerOptions paper();
  // The bundled small model: 192-d features, 2 + 2 layers at width 192, 128-d tokens.
  static TokenMergerOptions small();
};

// Hard assignment of each patch to its cluster: argmax of masks over the valid tokens, [B, N] long.
at::Tensor hard_assignment(const at::Tensor& masks, const at::Tensor& token_valid);

// Attention mask [B, N, N], true where patches i and j share a cluster (the ⊙Mc of the paper).
at::Tensor same_cluster_mask(const at::Tensor& masks, const at::Tensor& token_valid);

// u_c = Σ_i M[b,i,c]·h_i / Σ_i M[b,i,c] for features [B, N, D], masks [B, N, C] -> [B, C, D]; one bmm.
// Differentiable in both; an (almost) empty column gives (almost) zero.
at::Tensor cluster_mean(const at::Tensor& features, const at::Tensor& masks);

// The absolute position table [h * w, 64], row-major: for x = (col + 0.5) / w and y likewise,
// sin and cos of π·f·x and π·f·y at 16 frequencies f from 1 to max(h, w), geometrically spaced.
at::Tensor absolute_position_table(int64_t h, int64_t w, const at::TensorOptions& options);
constexpr int64_t kAbsolutePositionWidth = 64;

struct TokenMergerImpl : torch::nn::Module {
  explicit TokenMergerImpl(const TokenMergerOptions& options);

  // x [B, N, D] patch features in row-major order over an h x w grid; masks [B, N, C] in [0, 1]
  // (padded columns zero); token_valid [B, C] bool. Returns V [B, C, dim_out]; padded tokens are 0.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& masks, const at::Tensor& token_valid, int64_t h, int64_t w);

  TokenMergerOptions options;
  torch::nn::Linear proj_in{nullptr}, proj_out{nullptr}, position_proj{nullptr};
  torch::nn::ModuleList inner{nullptr}, inter{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(TokenMerger);

}  // namespace setok::tokenizer
