#include "core/nn/transformer_block.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/nn/precision.h"

namespace setok::nn {
namespace {
torch::nn::LayerNorm layer_norm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}
int64_t hidden_width(int64_t dim, double ratio) { return static_cast<int64_t>(std::lround(dim * ratio)); }
}  // namespace

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return fc2(at::gelu(fc1(x))); }

TransformerBlockImpl::TransformerBlockImpl(const TransformerBlockOptions& o) : options(o) {
  norm1 = register_module("norm1", layer_norm(o.dim(), o.norm_eps()));
  attn = register_module("attn", Attention(AttentionOptions(o.dim(), o.heads())));
  norm2 = register_module("norm2", layer_norm(o.dim(), o.norm_eps()));
  mlp = register_module("mlp", Mlp(o.dim(), hidden_width(o.dim(), o.mlp_ratio())));
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& attn_mask, const Rope2dTable& rope) {
  auto y = x + attn(norm1(autocast_f32(x)), at::Tensor(), attn_mask, rope);
  return y + mlp(norm2(autocast_f32(y)));
}

CrossAttentionBlockImpl::CrossAttentionBlockImpl(const CrossAttentionBlockOptions& o) : options(o) {
  const int64_t cdim = o.context_dim() > 0 ? o.context_dim() : o.dim();
  if (o.self_attention()) {
    norm_self = register_module("norm_self", layer_norm(o.dim(), o.norm_eps()));
    self_attn = register_module("self_attn", Attention(AttentionOptions(o.dim(), o.heads())));
  }
  norm_q = register_module("norm_q", layer_norm(o.dim(), o.norm_eps()));
  norm_kv = register_module("norm_kv", layer_norm(cdim, o.norm_eps()));
  cross_attn = register_module("cross_attn", Attention(AttentionOptions(o.dim(), o.heads()).context_dim(cdim)));
  norm_mlp = register_module("norm_mlp", layer_norm(o.dim(), o.norm_eps()));
  mlp = register_module("mlp", Mlp(o.dim(), hidden_width(o.dim(), o.mlp_ratio())));
}

at::Tensor CrossAttentionBlockImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                            const at::Tensor& context_valid, const at::Tensor& self_mask,
                                            const Rope2dTable& rope) {
  auto y = x;
  if (options.self_attention()) y = y + self_attn(norm_self(autocast_f32(y)), at::Tensor(), self_mask, rope);
  // Key-padding mask [B, Nk] -> [B, 1, 1, Nk]: every head and query ignores the padded tokens.
  at::Tensor kv_mask = context_valid.defined() ? context_valid.to(at::kBool).unsqueeze(1).unsqueeze(1) : at::Tensor();
  y = y + cross_attn(norm_q(autocast_f32(y)), norm_kv(autocast_f32(context)), kv_mask);
  return y + mlp(norm_mlp(autocast_f32(y)));
}

}  // namespace setok::nn
