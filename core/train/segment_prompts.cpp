#include "core/train/segment_prompts.h"

#include <ATen/ATen.h>

#include "core/eval/click_simulator.h"
#include "core/heads/token_under_click.h"

namespace setok::train {

namespace {

std::vector<std::uint8_t> to_bytes(const at::Tensor& mask) {
  at::Tensor m = mask.to(at::kByte).contiguous();
  return {m.data_ptr<std::uint8_t>(), m.data_ptr<std::uint8_t>() + m.numel()};
}

void add_click(heads::PromptSample& p, int x, int y, bool positive, std::int64_t side) {
  p.points.insert(p.points.end(), {(x + 0.5f) / side, (y + 0.5f) / side});
  p.labels.push_back(positive ? heads::kPositive : heads::kNegative);
}

// The first click: at the interior point half the time, anywhere inside the object otherwise.
void first_click(SegmentItem& it, std::mt19937_64& rng) {
  const std::int64_t side = it.object->mask.size(0);
  const std::vector<std::uint8_t> m = to_bytes(it.object->mask);
  if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.5) {
    if (auto c = eval::interior_click(m, static_cast<int>(side), static_cast<int>(side))) {
      add_click(it.prompt, c->x, c->y, true, side);
      return;
    }
  }
  std::vector<int> inside;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i]) inside.push_back(static_cast<int>(i));
  if (inside.empty()) inside.push_back(0);
  const int i = inside[std::uniform_int_distribution<std::size_t>(0, inside.size() - 1)(rng)];
  add_click(it.prompt, i % static_cast<int>(side), i / static_cast<int>(side), true, side);
}

void jittered_box(SegmentItem& it, std::mt19937_64& rng) {
  const std::int64_t side = it.object->mask.size(0);
  at::Tensor ys = it.object->mask.any(1).nonzero(), xs = it.object->mask.any(0).nonzero();
  if (ys.numel() == 0) return first_click(it, rng);
  float x0 = xs.min().item<float>(), x1 = xs.max().item<float>() + 1, y0 = ys.min().item<float>(),
        y1 = ys.max().item<float>() + 1;
  std::normal_distribution<float> n(0, 0.1f);
  const float w = x1 - x0, h = y1 - y0, s = static_cast<float>(side);
  auto clamp = [&](float v) { return std::min(std::max(v, 0.0f), s); };
  x0 = clamp(x0 + n(rng) * w), x1 = clamp(x1 + n(rng) * w), y0 = clamp(y0 + n(rng) * h), y1 = clamp(y1 + n(rng) * h);
  if (x1 <= x0 + 1 || y1 <= y0 + 1) return first_click(it, rng);
  it.prompt.points.insert(it.prompt.points.end(), {x0 / s, y0 / s, x1 / s, y1 / s});
  it.prompt.labels.insert(it.prompt.labels.end(), {heads::kBoxTopLeft, heads::kBoxBottomRight});
}

// The SeTok tokens lying mostly inside the object, as the starting mask.
bool token_start(SegmentItem& it) {
  const SegmentImage& im = *it.image;
  const std::int64_t g = static_cast<std::int64_t>(std::lround(std::sqrt(im.assignment.size(0))));
  at::Tensor frac = token_inside_fraction(im, *it.object, im.assignment.max().item<std::int64_t>() + 1);
  at::Tensor chosen = frac.gt(0.5).to(at::kFloat).index_select(0, im.assignment.clamp_min(0));
  if (chosen.sum().item<float>() < 1) return false;
  it.prompt.dense = heads::mask_to_logits(chosen.view({g, g}), 4 * g);  // the decoder's low resolution
  return true;
}

// The token under the first click as the dense prompt (the segmenter's lone click).
void click_token(SegmentItem& it) {
  const at::Tensor& a = it.image->assignment;
  const std::int64_t g = static_cast<std::int64_t>(std::lround(std::sqrt(a.size(0))));
  const auto& pts = it.prompt.points;
  it.prompt.dense = heads::token_under_click_logits(a, g, g, pts[pts.size() - 2], pts.back(), 4 * g);
}

}  // namespace

at::Tensor token_inside_fraction(const SegmentImage& image, const SegmentObject& object, std::int64_t count) {
  const at::Tensor& a = image.assignment;
  const std::int64_t n = a.size(0), g = static_cast<std::int64_t>(std::lround(std::sqrt(n)));
  const std::int64_t side = object.mask.size(0);
  at::Tensor inside = at::adaptive_avg_pool2d(object.mask.to(at::kFloat).view({1, 1, side, side}), {g, g}).view({n});
  at::Tensor onehot = at::one_hot(a.clamp_min(0), count).to(at::kFloat);
  return onehot.t().matmul(inside) / onehot.sum(0).clamp_min(1);
}

SegmentBatch draw_batch(const std::vector<std::pair<const SegmentImage*, const SegmentObject*>>& objects,
                        std::int64_t size, const PromptRates& rates, std::mt19937_64& rng) {
  SegmentBatch b;
  std::uniform_int_distribution<std::size_t> pick(0, objects.size() - 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<at::Tensor> f, px, t;
  for (std::int64_t i = 0; i < size; ++i) {
    SegmentItem it;
    std::tie(it.image, it.object) = objects[pick(rng)];
    const double r = u(rng);
    if (r < rates.language && !it.object->requests.empty() && it.image->visual.defined()) {
      it.kind = PromptKind::kLanguage;
      const auto& req = it.object->requests;
      it.prompt.request = req[std::uniform_int_distribution<std::size_t>(0, req.size() - 1)(rng)].to(at::kFloat);
      it.prompt.visual = it.image->visual.to(at::kFloat);
      it.prompt.visual_input = it.image->tokens.to(at::kFloat);
      it.prompt.assignment = it.image->assignment;
      if (u(rng) < 0.2) first_click(it, rng);
    } else if (r < rates.language + rates.box) {
      it.kind = PromptKind::kBox;
      jittered_box(it, rng);
    } else if (r < rates.language + rates.box + rates.token_start && token_start(it)) {
      it.kind = PromptKind::kTokenStart;
    } else {
      it.kind = PromptKind::kClicks;
      it.rounds = std::uniform_int_distribution<int>(0, rates.max_click_rounds)(rng);
      first_click(it, rng);
      if (u(rng) < rates.click_token) click_token(it);
    }
    f.push_back(it.image->features);
    px.push_back(it.image->pixels.to(at::kFloat) / 255.0);
    t.push_back(it.object->mask.to(at::kFloat).unsqueeze(0));
    b.items.push_back(std::move(it));
  }
  b.features = at::stack(f);
  b.pixels01 = at::stack(px);
  b.target = at::stack(t);
  return b;
}

at::Tensor shown_mask(const SegmentBatch& batch, const at::Tensor& iou, std::int64_t multimask) {
  const auto b = static_cast<std::int64_t>(batch.items.size());
  at::Tensor idx = at::zeros({b}, at::kLong);
  if (multimask == 0) return idx;
  at::Tensor best = iou.narrow(1, 1, multimask).argmax(1) + 1;
  for (std::int64_t i = 0; i < b; ++i) {
    const auto& p = batch.items[static_cast<std::size_t>(i)].prompt;
    const bool lone_click = p.labels.size() == 1 && !p.request.defined() && !p.dense.defined();
    if (lone_click) idx[i] = best[i];
  }
  return idx;
}

void click_rounds(heads::MaskDecoderImpl& decoder, SegmentBatch& batch) {
  int most = 0;
  for (const auto& it : batch.items) most = std::max(most, it.rounds);
  at::NoGradGuard g;
  const std::int64_t side = batch.target.size(-1);
  for (int round = 1; round <= most; ++round) {
    std::vector<heads::PromptSample> ps;
    for (const auto& it : batch.items) ps.push_back(it.prompt);
    heads::MaskPrediction p = decoder.forward(batch.features, heads::collate_prompts(ps, decoder.config()));
    at::Tensor idx = shown_mask(batch, p.iou, decoder.config().multimask);
    at::Tensor lr = p.low_res.gather(1, idx.view({-1, 1, 1, 1}).expand({-1, 1, p.low_res.size(2), p.low_res.size(3)}));
    at::Tensor full = decoder.refine(lr, batch.pixels01, p.features).gt(0);
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      SegmentItem& it = batch.items[i];
      if (it.rounds < round) continue;
      const auto truth = to_bytes(it.object->mask), pred = to_bytes(full[static_cast<std::int64_t>(i)][0]);
      auto c = eval::next_click(truth, pred, static_cast<int>(side), static_cast<int>(side));
      if (!c) continue;
      add_click(it.prompt, c->x, c->y, c->positive, side);
      it.prompt.dense = lr[static_cast<std::int64_t>(i)][0].clone();
    }
  }
}

}  // namespace setok::train
