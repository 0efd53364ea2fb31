#pragma once
// Label maps at image resolution from a per-patch token assignment, for scoring token masks
// against instance masks: the patch grid upsampled (nearest), or with pixel edges
// (tokenizer::refine_token_map).
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/io/image.h"

namespace setok::eval {

// [3, H, W] pixels in the encoder's [-1, 1] range -> 8-bit RGB.
io::Image to_image(const at::Tensor& pixels);

// assign: [grid_h * grid_w] token index per patch -> [size * size] int64 labels.
at::Tensor patch_labels(const at::Tensor& assign, std::int64_t grid_h, std::int64_t grid_w, int size);
at::Tensor pixel_edge_labels(const io::Image& image, const at::Tensor& assign, std::int64_t grid_h,
                             std::int64_t grid_w);

}  // namespace setok::eval
