#pragma once
// Simulated clicks, as interactive segmentation papers evaluate and train click models (RITM,
// Sofiiuk et al. 2022, "Reviving Iterative Training with Mask Guidance for Interactive
// Segmentation"; the same protocol as f-BRS and 99% of NoC tables): the first click at the object's
// pixel farthest from its boundary, each next one at the pixel farthest from the boundary of the
// larger error region (missed pixels: a positive click; wrongly included pixels: a negative one).
// Masks are 0/1 (nonzero = inside), row-major, width * height. Torch-free; O(pixels) per call.
#include <cstdint>
#include <optional>
#include <vector>

namespace setok::eval {

struct SimulatedClick {
  int x = 0, y = 0;  // the pixel's column and row (its centre is x + 0.5, y + 0.5)
  bool positive = true;
};

// The exact Euclidean distance of every pixel of `region` to the nearest pixel outside it, the
// pixels beyond the image's border counting as outside (RITM pads the mask with one ring of zeros);
// 0 outside the region. A lone pixel, or one on the border, is at distance 1. RITM uses OpenCV's
// 5 × 5 approximation (cv2.DIST_L2, 5), which can differ from this in the second decimal.
// Throws setok::Error when region.size() != width * height.
std::vector<float> distance_inside(const std::vector<std::uint8_t>& region, int width, int height);

// The pixel of `truth` farthest from its boundary (ties: the first in row-major order), a positive
// click; none for an empty mask.
std::optional<SimulatedClick> interior_click(const std::vector<std::uint8_t>& truth, int width, int height);

// The next click after prediction `pred`: at the interior point of the false negatives (positive)
// or of the false positives (negative), whichever region reaches farther from its boundary; a tie
// gives the negative click, as RITM's `fn_max_dist > fp_max_dist` does. None when pred == truth.
std::optional<SimulatedClick> next_click(const std::vector<std::uint8_t>& truth, const std::vector<std::uint8_t>& pred,
                                         int width, int height);

}  // namespace setok::eval
