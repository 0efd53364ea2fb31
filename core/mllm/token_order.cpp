#include "core/mllm/token_order.h"

#include <ATen/ATen.h>

#include "core/mllm/generation_request.h"

namespace setok::mllm {

VisualTokens in_generation_order(const VisualTokens& raw) {
  const at::Tensor order = generation_order(raw.geometry).to(raw.embeds.device());
  VisualTokens out = raw;
  out.embeds = raw.embeds.index_select(0, order);
  out.geometry = raw.geometry.index_select(0, order.to(raw.geometry.device()));
  at::Tensor rank = at::empty_like(order);
  rank.index_put_({order}, at::arange(order.size(0), order.options()));
  out.assignment = rank.to(raw.assignment.device()).index_select(0, raw.assignment.clamp_min(0));
  return out;
}

at::Tensor packed_tokens(const VisualTokens& raw) {
  return at::cat({raw.embeds.to(at::kFloat), raw.geometry.to(raw.embeds.device(), at::kFloat)}, 1);
}

VisualTokens select_tokens(const VisualTokens& raw, const at::Tensor& index) {
  VisualTokens out;
  out.embeds = raw.embeds.index_select(0, index.to(raw.embeds.device()));
  out.geometry = raw.geometry.index_select(0, index.to(raw.geometry.device()));
  out.grid_h = raw.grid_h;
  out.grid_w = raw.grid_w;
  return out;
}

}  // namespace setok::mllm
