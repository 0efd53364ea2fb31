#pragma once
// A lone click starts from the SeTok token under it. The Token Cluster has already grouped the
// image's patches into semantically whole regions, so the token a click lands in is, most of the
// time, most of the object the user means; given to the decoder as its dense prompt (as a previous
// mask is), one click segments that region and the decoder's refinement fixes its edges. A click
// alone is ambiguous (SAM answers it with three alternatives); the token settles it.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace setok::heads {

// The patches of the token at (x01, y01) (in [0, 1] of the image; clamped) as dense-prompt logits
// [low_res, low_res] (mask_to_logits). assignment [grid_h * grid_w] long: each patch's token; a
// patch with no token (negative) gives an empty mask.
at::Tensor token_under_click_logits(const at::Tensor& assignment, std::int64_t grid_h, std::int64_t grid_w, float x01,
                                    float y01, std::int64_t low_res);

}  // namespace setok::heads
