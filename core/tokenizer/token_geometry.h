#pragma once
// The region descriptor of a token: what its mask knows of the pixels it covers (colour, place,
// size, box, silhouette). SeTokim hands it to its language model beside each token
// (core/mllm/setokim.h) and the detokenizer reads it to place and colour each token's region
// (detokenizer.h, `regions`).
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace setok::tokenizer {

// The region descriptor of each of `count` tokens, from the image (pixels [3, S, S] as the model
// preprocesses them) and the token each patch of the grid_h × grid_w grid fed (assignment
// [grid_h * grid_w], values in [0, count)). Per token, 90 numbers:
//   0–2 mean colour of its pixels, 3–5 its object's colour, 6–8 colour standard deviation,
//   9–10 centroid and 11–12 spread (x, y in [-1, 1]), 13 square root of its area fraction,
//   14–17 bounding box (x0, y0, x1, y1 in [-1, 1]), 18 fill (area / box area),
//   19–21 the colour around the region's edge (its local background),
//   22 share of the region's pixels far from that background, 23 share near the object's colour,
//   and of those near the object's colour: 24 log(box height / width), 25 box fill, 26–89 their
//   silhouette in their box on an 8 × 8 grid.
// The object's colour is the median of the pixels far from the local background (the region's
// median when there are too few: a background token). A token without patches gets zeros.
// appearance = N > 0 appends N × N numbers: the box of the region's pixels far from the local
// background, each of the region's pixels in it as its position between the background's colour
// (0) and the object's colour (1) (clamped to [-0.5, 1.5]; pixels of other tokens 0), averaged onto
// an N × N grid; zeros for a token without an object (a background token).
constexpr std::int64_t kGeometryDims = 90;
at::Tensor token_geometry(const at::Tensor& pixels, const at::Tensor& assignment, std::int64_t count,
                          std::int64_t grid_h, std::int64_t grid_w, int appearance = 0);

// Indices into the descriptor that the detokenizer reads for each token's place.
constexpr std::int64_t kGeometryCentre = 9;  // x, y
constexpr std::int64_t kGeometryBox = 14;    // x0, y0, x1, y1

}  // namespace setok::tokenizer
