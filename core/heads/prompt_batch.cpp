#include "core/heads/prompt_batch.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace setok::heads {

namespace {

// Stacks [L_i, D] tensors into [B, max L, D] with a validity mask; missing ones are all invalid.
void pad_stack(const std::vector<at::Tensor>& xs, std::int64_t dim, at::Tensor& out, at::Tensor& valid) {
  std::int64_t len = 1;
  for (const auto& x : xs)
    if (x.defined()) len = std::max(len, x.size(0));
  const auto b = static_cast<std::int64_t>(xs.size());
  out = at::zeros({b, len, dim});
  valid = at::zeros({b, len}, at::kBool);
  for (std::int64_t i = 0; i < b; ++i) {
    if (!xs[i].defined()) continue;
    out[i].narrow(0, 0, xs[i].size(0)).copy_(xs[i]);
    valid[i].narrow(0, 0, xs[i].size(0)).fill_(true);
  }
}

void collate_points(const std::vector<PromptSample>& s, Prompts& p) {
  std::size_t most = 0;
  for (const auto& x : s) most = std::max(most, x.labels.size());
  if (most == 0) return;
  const auto b = static_cast<std::int64_t>(s.size()), n = static_cast<std::int64_t>(most);
  p.points = at::zeros({b, n, 2});
  p.labels = at::full({b, n}, kPadPoint, at::kLong);
  for (std::int64_t i = 0; i < b; ++i)
    for (std::size_t k = 0; k < s[i].labels.size(); ++k) {
      p.points[i][k][0] = s[i].points[2 * k];
      p.points[i][k][1] = s[i].points[2 * k + 1];
      p.labels[i][k] = s[i].labels[k];
    }
}

}  // namespace

Prompts collate_prompts(const std::vector<PromptSample>& s, const MaskDecoderConfig& c) {
  Prompts p;
  const auto b = static_cast<std::int64_t>(s.size());
  collate_points(s, p);
  const bool language = std::any_of(s.begin(), s.end(), [](const PromptSample& x) { return x.request.defined(); });
  if (language && c.language_dim > 0) {
    std::vector<at::Tensor> req, vis, input;
    for (const auto& x : s) {
      req.push_back(x.request);
      vis.push_back(x.request.defined() ? x.visual : at::Tensor());
      input.push_back(x.request.defined() ? x.visual_input : at::Tensor());
    }
    pad_stack(req, 2 * c.language_dim, p.language, p.language_valid);
    pad_stack(vis, c.language_dim, p.visual, p.visual_valid);
    at::Tensor unused;
    pad_stack(input, c.language_dim, p.visual_input, unused);
    p.visual_centroid = at::zeros({b, p.visual.size(1), 2});
    p.assignment = at::zeros({b, c.grid * c.grid}, at::kLong);
    for (std::int64_t i = 0; i < b; ++i) {
      if (!vis[i].defined()) continue;
      const std::int64_t n = vis[i].size(0);
      p.visual_centroid[i].narrow(0, 0, n).copy_(token_centroids(s[i].assignment, n, c.grid, c.grid));
      p.assignment[i].copy_(s[i].assignment.clamp_min(0));
    }
  }
  if (std::any_of(s.begin(), s.end(), [](const PromptSample& x) { return x.dense.defined(); })) {
    const std::int64_t l = c.low_res();
    p.dense = at::zeros({b, 1, l, l});
    p.dense_valid = at::zeros({b}, at::kBool);
    for (std::int64_t i = 0; i < b; ++i)
      if (s[i].dense.defined()) {
        p.dense[i][0].copy_(s[i].dense);
        p.dense_valid[i] = true;
      }
  }
  if (!p.points.defined() && !p.language.defined() && !p.dense.defined()) {
    p.dense = at::zeros({b, 1, c.low_res(), c.low_res()});  // nothing at all: "no mask" everywhere
    p.dense_valid = at::zeros({b}, at::kBool);
  }
  return p;
}

at::Tensor token_centroids(const at::Tensor& assignment, std::int64_t count, std::int64_t gh, std::int64_t gw) {
  at::Tensor a = assignment.to(at::kLong).view({gh * gw});
  at::Tensor idx = at::arange(gh * gw, at::kLong);
  at::Tensor xy =
      at::stack({(idx.remainder(gw).to(at::kFloat) + 0.5) / gw, (idx.div(gw, "floor").to(at::kFloat) + 0.5) / gh}, 1);
  at::Tensor onehot = at::one_hot(a.clamp_min(0), std::max<std::int64_t>(count, 1)).to(at::kFloat);
  onehot = onehot * a.ge(0).unsqueeze(1).to(at::kFloat);
  onehot = onehot.narrow(1, 0, count);
  return onehot.t().matmul(xy) / onehot.sum(0).clamp_min(1).unsqueeze(1);
}

at::Tensor mask_to_logits(const at::Tensor& mask, std::int64_t side) {
  at::Tensor m = mask.to(at::kFloat).view({1, 1, mask.size(-2), mask.size(-1)});
  at::Tensor f = at::adaptive_avg_pool2d(m, {side, side});
  return (20.0 * (f - 0.5)).view({side, side});
}

}  // namespace setok::heads
