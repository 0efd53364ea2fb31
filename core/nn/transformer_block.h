#pragma once
// Pre-norm Transformer blocks: self-attention (TransformerBlock) and queries attending to a
// variable-size key/value set (CrossAttentionBlock), shared by the token merger and the detokenizer.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/nn/attention.h"
#include "core/nn/rope2d.h"

namespace setok::nn {

// Linear -> GELU -> Linear, hidden width dim * mlp_ratio.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t dim, int64_t hidden);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

struct TransformerBlockOptions {
  TransformerBlockOptions(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(double, norm_eps) = 1e-6;
};

// x + Attn(LN(x)); x + MLP(LN(x)).
struct TransformerBlockImpl : torch::nn::Module {
  explicit TransformerBlockImpl(const TransformerBlockOptions& options);

  // x [B, N, dim]; attn_mask bool [B, N, N] or [B, 1, N, N] (true = may attend; undefined = all);
  // rope: 2D RoPE on queries and keys (undefined = none).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, const Rope2dTable& rope = {});

  TransformerBlockOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(TransformerBlock);

struct CrossAttentionBlockOptions {
  CrossAttentionBlockOptions(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, heads);
  // Width of the key/value set; 0 = dim.
  TORCH_ARG(int64_t, context_dim) = 0;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(double, norm_eps) = 1e-6;
  // Self-attention among the queries before the cross-attention (a Transformer decoder block).
  TORCH_ARG(bool, self_attention) = false;
};

// [x + SelfAttn(LN(x))]; x + CrossAttn(LN(x), LN(context)); x + MLP(LN(x)).
struct CrossAttentionBlockImpl : torch::nn::Module {
  explicit CrossAttentionBlockImpl(const CrossAttentionBlockOptions& options);

  // x [B, Nq, dim] queries; context [B, Nk, context_dim]; context_valid bool [B, Nk] (false =
  // padding, never attended; undefined = all valid). self_mask / rope apply to the self-attention.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, const at::Tensor& context_valid = {},
                     const at::Tensor& self_mask = {}, const Rope2dTable& rope = {});

  CrossAttentionBlockOptions options;
  torch::nn::LayerNorm norm_self{nullptr}, norm_q{nullptr}, norm_kv{nullptr}, norm_mlp{nullptr};
  Attention self_attn{nullptr}, cross_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(CrossAttentionBlock);

}  // namespace setok::nn
