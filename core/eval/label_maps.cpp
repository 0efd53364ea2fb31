#include "core/eval/label_maps.h"

#include <ATen/ATen.h>

#include <vector>

#include "core/tokenizer/token_overlay.h"

namespace setok::eval {

io::Image to_image(const at::Tensor& pixels) {
  at::Tensor u8 =
      ((pixels.detach().cpu() + 1) / 2 * 255).round().clamp(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
  io::Image img;
  img.height = static_cast<int>(u8.size(0));
  img.width = static_cast<int>(u8.size(1));
  img.rgb.assign(u8.data_ptr<std::uint8_t>(), u8.data_ptr<std::uint8_t>() + u8.numel());
  return img;
}

at::Tensor patch_labels(const at::Tensor& assign, std::int64_t grid_h, std::int64_t grid_w, int size) {
  at::Tensor grid = assign.view({1, 1, grid_h, grid_w}).to(at::kFloat);
  return at::upsample_nearest2d(grid, {size, size}).view({static_cast<std::int64_t>(size) * size}).to(at::kLong);
}

at::Tensor pixel_edge_labels(const io::Image& image, const at::Tensor& assign, std::int64_t grid_h,
                             std::int64_t grid_w) {
  at::Tensor g = assign.to(at::kInt).cpu().contiguous();
  std::vector<std::int32_t> grid(g.data_ptr<std::int32_t>(), g.data_ptr<std::int32_t>() + g.numel());
  std::vector<std::int32_t> px =
      tokenizer::refine_token_map(image, grid, static_cast<int>(grid_h), static_cast<int>(grid_w));
  return at::from_blob(px.data(), {static_cast<std::int64_t>(px.size())}, at::kInt).to(at::kLong);
}

}  // namespace setok::eval
