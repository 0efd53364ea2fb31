#include "core/tokenizer/token_geometry.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/runtime/error.h"

namespace setok::tokenizer {

at::Tensor token_geometry(const at::Tensor& pixels, const at::Tensor& assignment, std::int64_t count,
                          std::int64_t grid_h, std::int64_t grid_w, int appearance) {
  if (pixels.dim() != 3 || grid_h < 1 || grid_w < 1 || assignment.numel() != grid_h * grid_w || count < 1)
    throw Error("token_geometry takes pixels [3, S, S] and one token per patch");
  if (appearance < 0 || appearance > 32) throw Error("token_geometry: appearance maps are 0 (none) to 32 × 32");
  at::NoGradGuard ng;
  const auto fopt = pixels.options().dtype(at::kFloat);
  const std::int64_t ph = pixels.size(1) / grid_h, pw = pixels.size(2) / grid_w;
  const std::int64_t H = ph * grid_h, W = pw * grid_w;
  if (ph < 1 || pw < 1) throw Error("token_geometry: the image is smaller than its patch grid");
  at::Tensor px = pixels.detach().to(at::kFloat).narrow(1, 0, H).narrow(2, 0, W);
  at::Tensor a = assignment.to(pixels.device(), at::kLong).view({grid_h, grid_w});
  a = a.repeat_interleave(ph, 0).repeat_interleave(pw, 1).reshape({-1}).clamp(0, count - 1);  // [HW]
  at::Tensor m = at::one_hot(a, count).to(at::kFloat);                                        // [HW, C]
  at::Tensor area = m.sum(0);                                                                 // [C]
  at::Tensor n = area.clamp_min(1).unsqueeze(1);
  at::Tensor rgb = px.reshape({3, -1}).t();  // [HW, 3]
  at::Tensor mean = m.t().mm(rgb) / n;
  at::Tensor sd = (m.t().mm(rgb * rgb) / n - mean * mean).clamp_min(0).sqrt();
  at::Tensor ys = (at::arange(H, fopt) + 0.5) / H * 2 - 1, xs = (at::arange(W, fopt) + 0.5) / W * 2 - 1;
  at::Tensor xy = at::stack({xs.repeat({H}), ys.repeat_interleave(W)}, 1);  // [HW, 2]
  at::Tensor centre = m.t().mm(xy) / n;
  at::Tensor spread = (m.t().mm(xy * xy) / n - centre * centre).clamp_min(0).sqrt();
  // Per token: the colour around its region's edge (the local background: a token whose patches
  // hold a small object has more background than object in them), the object's colour (the median
  // of the pixels far from that background; the region's median when there are too few), and the
  // pixels of the region near the object's colour: their share, box and silhouette.
  constexpr double kSameColour = 0.35;  // L2 in the model's pixel scale ([-1, 1] per channel)
  const std::int64_t an = appearance;
  std::vector<at::Tensor> box(count), object(count), around(count), pixel_shape(count), look(count);
  for (std::int64_t c = 0; c < count; ++c) {
    box[c] = at::zeros({5}, fopt);  // x0, y0, x1, y1 (pixel centres in [-1, 1]), fill
    object[c] = at::zeros({3}, fopt);
    around[c] = at::zeros({3}, fopt);
    pixel_shape[c] = at::zeros({4 + 64}, fopt);
    look[c] = at::zeros({an * an}, fopt);
    const double n_c = area[c].item<double>();
    if (n_c <= 0) continue;
    at::Tensor idx = m.select(1, c).nonzero().view({-1});
    at::Tensor mine = rgb.index_select(0, idx);
    at::Tensor r = at::floor_divide(idx, W), q = idx.remainder(W);
    const std::int64_t top = r.min().item<std::int64_t>(), bottom = r.max().item<std::int64_t>();
    const std::int64_t left = q.min().item<std::int64_t>(), right = q.max().item<std::int64_t>();
    auto unit = [](std::int64_t i, std::int64_t size) { return static_cast<float>((i + 0.5) / size * 2 - 1); };
    box[c] = at::tensor({unit(left, W), unit(top, H), unit(right, W), unit(bottom, H),
                         static_cast<float>(n_c / ((right - left + 1) * (bottom - top + 1)))},
                        fopt);
    at::Tensor edge = (r == top) | (r == bottom) | (q == left) | (q == right);
    around[c] = std::get<0>(mine.index_select(0, edge.nonzero().view({-1})).median(0));
    at::Tensor far = (mine - around[c]).norm(2, 1) > kSameColour;
    const std::int64_t n_far = far.sum().item<std::int64_t>();
    const bool has_object = n_far >= std::max<double>(4.0, 0.02 * n_c);
    object[c] = std::get<0>((has_object ? mine.index_select(0, far.nonzero().view({-1})) : mine).median(0));
    if (an > 0 && has_object) {
      // The region's pixels on the background → object colour line, inside the box of its
      // pixels far from the background.
      const at::Tensor axis = object[c] - around[c];
      const at::Tensor t = ((mine - around[c]).mv(axis) / axis.dot(axis).clamp_min(1e-2)).clamp(-0.5, 1.5);
      const at::Tensor fi = idx.masked_select(far);
      const at::Tensor fr = at::floor_divide(fi, W), fq = fi.remainder(W);
      const std::int64_t y0 = fr.min().item<std::int64_t>(), y1 = fr.max().item<std::int64_t>();
      const std::int64_t x0 = fq.min().item<std::int64_t>(), x1 = fq.max().item<std::int64_t>();
      at::Tensor canvas = at::zeros({H * W}, fopt).index_copy_(0, idx, t).view({H, W});
      at::Tensor crop = canvas.narrow(0, y0, y1 - y0 + 1).narrow(1, x0, x1 - x0 + 1);
      look[c] = at::adaptive_avg_pool2d(crop.unsqueeze(0), {an, an}).reshape({an * an});
    }
    at::Tensor same = idx.masked_select((mine - object[c]).norm(2, 1) < kSameColour);
    const std::int64_t k = same.numel();
    if (k == 0) continue;
    at::Tensor map = at::zeros({H * W}, fopt).index_fill_(0, same, 1.0f).view({H, W});
    at::Tensor rows = map.any(1).nonzero().view({-1}), cols = map.any(0).nonzero().view({-1});
    const std::int64_t r0 = rows.min().item<std::int64_t>(), r1 = rows.max().item<std::int64_t>();
    const std::int64_t c0 = cols.min().item<std::int64_t>(), c1 = cols.max().item<std::int64_t>();
    const double bh = static_cast<double>(r1 - r0 + 1), bw = static_cast<double>(c1 - c0 + 1);
    at::Tensor crop = map.narrow(0, r0, r1 - r0 + 1).narrow(1, c0, c1 - c0 + 1);
    at::Tensor stats = at::tensor({static_cast<float>(n_far / n_c), static_cast<float>(k / n_c),
                                   static_cast<float>(std::log(bh / bw)), static_cast<float>(k / (bh * bw))},
                                  fopt);
    pixel_shape[c] = at::cat({stats, at::adaptive_avg_pool2d(crop.unsqueeze(0), {8, 8}).reshape({64})});
  }
  std::vector<at::Tensor> parts = {mean,
                                   at::stack(object),
                                   sd,
                                   centre,
                                   spread,
                                   (area / (H * W)).sqrt().unsqueeze(1),
                                   at::stack(box),
                                   at::stack(around),
                                   at::stack(pixel_shape)};
  if (an > 0) parts.push_back(at::stack(look));
  return at::cat(parts, 1);
}

}  // namespace setok::tokenizer
