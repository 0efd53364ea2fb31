#include "core/nn/attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/runtime/error.h"

namespace setok::nn {

at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  auto scores = at::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  if (!mask.defined()) return at::matmul(at::softmax(scores, -1), v);
  // Rows with no admissible key attend to everything (finite softmax, no NaN even in the backward
  // pass) and are zeroed afterwards; other rows get -inf on their masked keys.
  auto any = mask.any(-1, /*keepdim=*/true);
  auto allowed = at::logical_or(mask, at::logical_not(any));
  auto probs = at::softmax(scores.masked_fill(at::logical_not(allowed), -INFINITY), -1);
  return at::matmul(probs, v).masked_fill(at::logical_not(any), 0.0);
}

AttentionImpl::AttentionImpl(const AttentionOptions& o) : options(o) {
  if (o.dim() % o.heads() != 0)
    throw Error("attention width " + std::to_string(o.dim()) + " is not divisible by " + std::to_string(o.heads()) +
                " heads");
  const int64_t cdim = o.context_dim() > 0 ? o.context_dim() : o.dim();
  q = register_module("q", torch::nn::Linear(torch::nn::LinearOptions(o.dim(), o.dim()).bias(o.qkv_bias())));
  k = register_module("k", torch::nn::Linear(torch::nn::LinearOptions(cdim, o.dim()).bias(o.qkv_bias())));
  v = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(cdim, o.dim()).bias(o.qkv_bias())));
  proj = register_module("proj", torch::nn::Linear(o.dim(), o.dim()));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& context, const at::Tensor& mask,
                                  const Rope2dTable& rope) {
  const auto& kv = context.defined() ? context : x;
  const int64_t b = x.size(0), nq = x.size(1), nk = kv.size(1), h = options.heads(), hd = options.dim() / h;
  auto split = [&](const at::Tensor& t, int64_t n) { return t.view({b, n, h, hd}).transpose(1, 2); };
  auto qh = split(q(x), nq);
  auto kh = split(k(kv), nk);
  auto vh = split(v(kv), nk);
  if (rope.defined()) {
    if (context.defined()) throw Error("2D RoPE applies to self-attention only");
    qh = apply_rope2d(qh, rope);
    kh = apply_rope2d(kh, rope);
  }
  at::Tensor m = mask;
  if (m.defined() && m.dim() == 3) m = m.unsqueeze(1);  // [B, Nq, Nk] -> one mask for every head
  auto out = masked_attention(qh, kh, vh, m);           // [B, H, Nq, hd]
  return proj(out.transpose(1, 2).reshape({b, nq, options.dim()}));
}

}  // namespace setok::nn
