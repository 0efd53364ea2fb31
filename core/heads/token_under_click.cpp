#include "core/heads/token_under_click.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/heads/prompt_batch.h"

namespace setok::heads {

at::Tensor token_under_click_logits(const at::Tensor& assignment, std::int64_t grid_h, std::int64_t grid_w, float x01,
                                    float y01, std::int64_t low_res) {
  auto cell = [](float v, std::int64_t n) {
    return std::clamp(static_cast<std::int64_t>(v * static_cast<float>(n)), std::int64_t{0}, n - 1);
  };
  at::Tensor grid = assignment.view({grid_h, grid_w});
  const std::int64_t token = grid[cell(y01, grid_h)][cell(x01, grid_w)].item<std::int64_t>();
  at::Tensor mask = token < 0 ? at::zeros({grid_h, grid_w}, at::kByte) : grid.eq(token);
  return mask_to_logits(mask, low_res);
}

}  // namespace setok::heads
