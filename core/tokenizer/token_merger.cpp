#include "core/tokenizer/token_merger.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/nn/precision.h"
#include "core/nn/rope2d.h"
#include "core/nn/transformer_block.h"
#include "core/runtime/error.h"

namespace setok::tokenizer {

TokenMergerOptions TokenMergerOptions::paper() { return TokenMergerOptions(); }

TokenMergerOptions TokenMergerOptions::small() {
  return TokenMergerOptions().dim_in(192).dim(192).dim_out(128).inner_layers(2).inter_layers(2).heads(4);
}

at::Tensor hard_assignment(const at::Tensor& masks, const at::Tensor& token_valid) {
  // Padded columns are zero, but a patch whose valid masses are all zero must still not pick one.
  auto invalid = at::logical_not(token_valid.to(at::kBool)).unsqueeze(1);  // [B, 1, C]
  return masks.masked_fill(invalid, -1.0).argmax(-1);
}

at::Tensor same_cluster_mask(const at::Tensor& masks, const at::Tensor& token_valid) {
  auto a = hard_assignment(masks, token_valid);
  return at::eq(a.unsqueeze(2), a.unsqueeze(1));  // [B, N, N]; the diagonal is always true
}

at::Tensor cluster_mean(const at::Tensor& features, const at::Tensor& masks) {
  auto m = masks.to(features.scalar_type());
  auto sums = at::bmm(m.transpose(1, 2), features);    // [B, C, D]
  auto mass = m.sum(1).unsqueeze(-1).clamp_min(1e-6);  // [B, C, 1]
  return sums / mass;
}

at::Tensor absolute_position_table(int64_t h, int64_t w, const at::TensorOptions& options) {
  const int64_t n = kAbsolutePositionWidth / 4;  // frequencies per axis
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor freq = at::exp(at::linspace(0.0, std::log(static_cast<double>(std::max(h, w))), n, f32)) * M_PI;
  at::Tensor ys = (at::arange(h, f32) + 0.5) / static_cast<double>(h);
  at::Tensor xs = (at::arange(w, f32) + 0.5) / static_cast<double>(w);
  at::Tensor px = xs.unsqueeze(0).expand({h, w}).reshape({h * w, 1}) * freq;  // [N, n]
  at::Tensor py = ys.unsqueeze(1).expand({h, w}).reshape({h * w, 1}) * freq;
  return at::cat({at::sin(px), at::cos(px), at::sin(py), at::cos(py)}, 1).to(options);
}

TokenMergerImpl::TokenMergerImpl(const TokenMergerOptions& o) : options(o) {
  if (o.mean_pool_only()) return;
  if (o.dim() % o.heads() != 0) throw Error("token merger width must be divisible by its head count");
  if (o.use_position() && (o.dim() / o.heads()) % 4 != 0)
    throw Error("token merger head width must be divisible by 4 for 2D RoPE");
  proj_in = register_module("proj_in", torch::nn::Linear(o.dim_in(), o.dim()));
  // Drawn like any linear layer, not at zero: at zero the tokens carry no place, so the detokenizer
  // has no reason to read one and the layer no gradient to grow by (a saddle that a 100-step trial
  // with a zero layer did not leave).
  if (o.absolute_position())
    position_proj = register_module(
        "position_proj", torch::nn::Linear(torch::nn::LinearOptions(kAbsolutePositionWidth, o.dim()).bias(false)));
  auto block = nn::TransformerBlockOptions(o.dim(), o.heads()).mlp_ratio(o.mlp_ratio());
  inner = register_module("inner", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.inner_layers(); ++i) inner->push_back(nn::TransformerBlock(block));
  inter = register_module("inter", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.inter_layers(); ++i) inter->push_back(nn::TransformerBlock(block));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()}).eps(1e-6)));
  proj_out = register_module("proj_out", torch::nn::Linear(o.dim(), o.dim_out()));
}

at::Tensor TokenMergerImpl::forward(const at::Tensor& x, const at::Tensor& masks, const at::Tensor& token_valid,
                                    int64_t h, int64_t w) {
  if (x.dim() != 3 || x.size(1) != h * w || x.size(2) != options.dim_in())
    throw Error("token merger expects features [B, " + std::to_string(h * w) + ", " + std::to_string(options.dim_in()) +
                "]");
  if (masks.dim() != 3 || masks.size(0) != x.size(0) || masks.size(1) != x.size(1))
    throw Error("token merger expects masks [B, N, C] matching the features");
  if (token_valid.dim() != 2 || token_valid.size(0) != x.size(0) || token_valid.size(1) != masks.size(2))
    throw Error("token merger expects token_valid [B, C] matching the masks");
  auto valid = token_valid.to(at::kBool);
  auto padded = at::logical_not(valid).unsqueeze(-1);  // [B, C, 1]

  if (options.mean_pool_only()) return cluster_mean(x, masks).masked_fill(padded, 0.0);

  auto hid = proj_in(x);
  if (options.absolute_position()) hid = hid + position_proj(absolute_position_table(h, w, hid.options())).unsqueeze(0);
  if (!inner->is_empty()) {
    // X̃c = PE(X)⊙Mc ⊕ X⊙Mc: every cluster's layers run at once, attention confined to the cluster
    // by a [B, N, N] mask; PE is 2D RoPE on q/k with each patch at its own grid position.
    auto within = same_cluster_mask(masks, valid);
    nn::Rope2dTable rope;
    if (options.use_position())
      rope = nn::rope2d_grid_table(h, w, options.dim() / options.heads(), options.rope_theta(), hid.options());
    for (const auto& m : *inner) hid = m->as<nn::TransformerBlock>()->forward(hid, within, rope);
  }
  auto u = cluster_mean(hid, masks);  // u_c = Avg(Transformer(X̃c)), weighted by Mc for soft masks
  if (!inter->is_empty()) {
    // Tokens are a set: no position here; padded tokens are never attended to.
    auto key_valid = valid.unsqueeze(1).unsqueeze(1);  // [B, 1, 1, C]
    for (const auto& m : *inter) u = m->as<nn::TransformerBlock>()->forward(u, key_valid);
  }
  return proj_out(norm(nn::autocast_f32(u))).masked_fill(padded, 0.0);
}

}  // namespace setok::tokenizer
