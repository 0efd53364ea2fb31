#include "core/heads/zoom_in.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace setok::heads {

std::optional<ZoomRoi> zoom_roi(const at::Tensor& mask, const std::vector<std::array<float, 2>>& clicks,
                                const ZoomOptions& o) {
  const int h = static_cast<int>(mask.size(0)), w = static_cast<int>(mask.size(1));
  float x0 = static_cast<float>(w), y0 = static_cast<float>(h), x1 = 0, y1 = 0;
  at::Tensor on = mask.nonzero();  // [n, 2]: row, column
  if (on.size(0) > 0) {
    at::Tensor lo = std::get<0>(on.min(0)), hi = std::get<0>(on.max(0));
    y0 = static_cast<float>(lo[0].item<std::int64_t>()), x0 = static_cast<float>(lo[1].item<std::int64_t>());
    y1 = static_cast<float>(hi[0].item<std::int64_t>() + 1), x1 = static_cast<float>(hi[1].item<std::int64_t>() + 1);
  }
  for (const auto& c : clicks) {
    x0 = std::min(x0, std::floor(c[0])), y0 = std::min(y0, std::floor(c[1]));
    x1 = std::max(x1, std::floor(c[0]) + 1), y1 = std::max(y1, std::floor(c[1]) + 1);
  }
  if (x1 <= x0 || y1 <= y0) return std::nullopt;
  const float shorter = static_cast<float>(std::min(w, h));
  const float side = std::max(std::max(x1 - x0, y1 - y0) * o.expansion, o.min_side * shorter);
  if (side > o.max_side * shorter) return std::nullopt;
  ZoomRoi r;
  r.side = static_cast<int>(std::ceil(side));
  const int half = o.snap / 2;
  if (o.snap > 1) r.side = std::min((r.side + o.snap - 1) / o.snap * o.snap, std::min(w, h));
  const float cx = 0.5f * (x0 + x1), cy = 0.5f * (y0 + y1);
  auto corner = [&](float centre, int extent) {
    int v = static_cast<int>(std::lround(centre - 0.5f * static_cast<float>(r.side)));
    if (half > 1) v = static_cast<int>(std::lround(static_cast<float>(v) / static_cast<float>(half))) * half;
    return std::clamp(v, 0, extent - r.side);
  };
  r.x0 = corner(cx, w);
  r.y0 = corner(cy, h);
  return r;
}

io::Image crop_image(const io::Image& image, const ZoomRoi& roi) {
  io::Image out;
  out.width = out.height = roi.side;
  out.rgb.resize(static_cast<std::size_t>(roi.side) * roi.side * 3);
  for (int y = 0; y < roi.side; ++y) {
    const std::uint8_t* src = &image.rgb[(static_cast<std::size_t>(roi.y0 + y) * image.width + roi.x0) * 3];
    std::copy(src, src + static_cast<std::size_t>(roi.side) * 3, &out.rgb[static_cast<std::size_t>(y) * roi.side * 3]);
  }
  return out;
}

at::Tensor crop_logits(const at::Tensor& logits, const ZoomRoi& roi, int width, int height, std::int64_t side) {
  // The centre of output cell j lies at image x = x0 + (j + ½)·roi.side / side; grid_sample's
  // normalised coordinate (align_corners false) is 2x / width − 1.
  auto axis = [&](int start, int extent) {
    at::Tensor j = at::arange(side, at::kFloat) + 0.5;
    return (j * (static_cast<float>(roi.side) / static_cast<float>(side)) + static_cast<float>(start)) * 2.0 /
               static_cast<double>(extent) -
           1.0;
  };
  at::Tensor gx = axis(roi.x0, width), gy = axis(roi.y0, height);
  at::Tensor grid = at::stack({gx.view({1, side}).expand({side, side}), gy.view({side, 1}).expand({side, side})}, -1);
  return at::grid_sampler(logits.to(at::kFloat), grid.unsqueeze(0), /*bilinear*/ 0, /*border*/ 1,
                          /*align_corners=*/false)[0][0];
}

at::Tensor paste_logits(const at::Tensor& full, const at::Tensor& crop, const ZoomRoi& roi) {
  const std::int64_t s = roi.side;
  at::Tensor c = crop.to(at::kFloat).view({1, 1, crop.size(0), crop.size(1)});
  c = s < crop.size(0) ? at::_upsample_bilinear2d_aa(c, {s, s}, false) : at::upsample_bilinear2d(c, {s, s}, false);
  at::Tensor out = full.to(at::kFloat).clone();
  out.narrow(0, roi.y0, s).narrow(1, roi.x0, s).copy_(c[0][0]);
  return out;
}

}  // namespace setok::heads
