#include "core/heads/two_way_transformer.h"

#include <ATen/ATen.h>

#include <cmath>

namespace setok::heads {

namespace tnn = torch::nn;

PromptAttentionImpl::PromptAttentionImpl(std::int64_t dim, std::int64_t h, std::int64_t inner) : heads(h) {
  q_proj = register_module("q_proj", tnn::Linear(dim, inner));
  k_proj = register_module("k_proj", tnn::Linear(dim, inner));
  v_proj = register_module("v_proj", tnn::Linear(dim, inner));
  out_proj = register_module("out_proj", tnn::Linear(inner, dim));
}

at::Tensor PromptAttentionImpl::forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& key_valid) {
  auto split = [&](const at::Tensor& x) {  // [B, N, inner] -> [B, H, N, inner / H]
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
  };
  at::Tensor qh = split(q_proj->forward(q)), kh = split(k_proj->forward(k)), vh = split(v_proj->forward(v));
  const double scale = 1.0 / std::sqrt(static_cast<double>(qh.size(-1)));
  at::Tensor logits = at::matmul(qh, kh.transpose(-2, -1)) * scale;
  at::Tensor w;
  if (key_valid.defined()) {
    at::Tensor valid = key_valid.view({key_valid.size(0), 1, 1, key_valid.size(1)});
    w = at::softmax(logits.masked_fill(valid.logical_not(), -1e4), -1) * valid.to(logits.dtype());
  } else {
    w = at::softmax(logits, -1);
  }
  at::Tensor o = at::matmul(w, vh).transpose(1, 2).contiguous();
  return out_proj->forward(o.view({o.size(0), o.size(1), -1}));
}

TwoWayBlockImpl::TwoWayBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t mlp_dim,
                                 std::int64_t cross_downsample, bool skip_pe)
    : skip_first_pe(skip_pe) {
  self_attn = register_module("self_attn", PromptAttention(dim, heads, dim));
  to_image = register_module("cross_attn_token_to_image", PromptAttention(dim, heads, dim / cross_downsample));
  to_tokens = register_module("cross_attn_image_to_token", PromptAttention(dim, heads, dim / cross_downsample));
  mlp1 = register_module("mlp_lin1", tnn::Linear(dim, mlp_dim));
  mlp2 = register_module("mlp_lin2", tnn::Linear(mlp_dim, dim));
  auto ln = [&] { return tnn::LayerNorm(tnn::LayerNormOptions({dim})); };
  norm1 = register_module("norm1", ln());
  norm2 = register_module("norm2", ln());
  norm3 = register_module("norm3", ln());
  norm4 = register_module("norm4", ln());
}

void TwoWayBlockImpl::forward(at::Tensor& tokens, at::Tensor& image, const at::Tensor& token_pe,
                              const at::Tensor& image_pe) {
  if (skip_first_pe) {
    tokens = self_attn->forward(tokens, tokens, tokens);
  } else {
    at::Tensor q = tokens + token_pe;
    tokens = tokens + self_attn->forward(q, q, tokens);
  }
  tokens = norm1->forward(tokens);
  at::Tensor q = tokens + token_pe, k = image + image_pe;
  tokens = norm2->forward(tokens + to_image->forward(q, k, image));
  tokens = norm3->forward(tokens + mlp2->forward(at::relu(mlp1->forward(tokens))));
  q = tokens + token_pe;
  image = norm4->forward(image + to_tokens->forward(k, q, tokens));
}

TwoWayTransformerImpl::TwoWayTransformerImpl(std::int64_t depth, std::int64_t dim, std::int64_t heads,
                                             std::int64_t mlp_dim, std::int64_t cross_downsample) {
  blocks = register_module("layers", tnn::ModuleList());
  for (std::int64_t i = 0; i < depth; ++i)
    blocks->push_back(TwoWayBlock(dim, heads, mlp_dim, cross_downsample, i == 0));
  final_attn = register_module("final_attn_token_to_image", PromptAttention(dim, heads, dim / cross_downsample));
  final_norm = register_module("norm_final_attn", tnn::LayerNorm(tnn::LayerNormOptions({dim})));
}

void TwoWayTransformerImpl::forward(at::Tensor& tokens, at::Tensor& image, const at::Tensor& token_pe,
                                    const at::Tensor& image_pe) {
  for (const auto& b : *blocks) b->as<TwoWayBlockImpl>()->forward(tokens, image, token_pe, image_pe);
  tokens = final_norm->forward(tokens + final_attn->forward(tokens + token_pe, image + image_pe, image));
}

}  // namespace setok::heads
