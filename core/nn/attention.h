#pragma once
// Multi-head attention written with plain ATen ops, so that masks, 2D RoPE and the all-masked-row
// guard behave the same on every LibTorch version and device.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "core/nn/rope2d.h"

namespace setok::nn {

// softmax(q kᵀ / sqrt(d) masked) v for q [B, H, Nq, d], k/v [B, H, Nk, d]. mask: bool, true = may
// attend, broadcastable to [B, H, Nq, Nk] (undefined = attend to all). A query whose keys are all
// masked gets exact zeros (and zero gradients), not the NaN of a softmax over -inf only.
at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

struct AttentionOptions {
  AttentionOptions(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, heads);
  // Width of the key/value set for cross-attention; 0 = dim.
  TORCH_ARG(int64_t, context_dim) = 0;
  TORCH_ARG(bool, qkv_bias) = true;
};

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const AttentionOptions& options);

  // x [B, Nq, dim]; context [B, Nk, context_dim] or undefined for self-attention. mask: bool, true =
  // may attend, [B, Nq, Nk], [B, 1 or H, Nq, Nk] or anything else broadcastable to [B, H, Nq, Nk].
  // rope (self-attention only): rotates queries and keys by their tokens' 2D positions.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context = {}, const at::Tensor& mask = {},
                     const Rope2dTable& rope = {});

  AttentionOptions options;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace setok::nn
