#pragma once
// Zoom-in for the clicks after the first (RITM: Sofiiuk et al. 2022, "Reviving Iterative Training
// with Mask Guidance for Interactive Segmentation", §3.3; FocalClick's focus view is the same idea).
// Once a mask exists, the decoder looks again at a square crop around it and the clicks, resized to
// the model's input: a small object then fills the decoder's 16 × 16 patches and its mask's edges
// are drawn at several times the resolution. Outside the crop the previous mask stays as it was.
// The crop is in the image's own pixels, so a large photo gains the detail the model's square input
// had thrown away.
#include <ATen/core/Tensor.h>

#include <array>
#include <optional>
#include <vector>

#include "core/io/image.h"

namespace setok::heads {

// The defaults were chosen on the validation split of the scenes world (`setok eval refseg --data
// DIR --split val --limit 100 --no-language`, DIR from `setok data scenes --split val`): RITM's
// expansion 1.4 reached IoU 0.90 in the fewest clicks but its second click often made a good mask
// worse (mIoU@3 0.802 against 0.892 without zoom); 2.4 keeps mIoU@3 (0.887) and takes NoC@90 from
// 5.02 to 3.68. A smaller crop than 0.4 of the image (an object magnified more) was worse.
struct ZoomOptions {
  float expansion = 2.4f;  // the crop's side over the larger side of the mask-and-clicks box
  float min_side = 0.4f;   // the smallest crop, as a fraction of the image's shorter side
  float max_side = 0.85f;  // a crop larger than this fraction of the shorter side: no zoom
  // Pixels: the side rounds up to a multiple of this and the corner to a multiple of half of it, so
  // that a mask that changed by a pixel or two keeps its crop (and the crop's cached features); 0: none.
  int snap = 0;
};

struct ZoomRoi {
  int x0 = 0, y0 = 0, side = 0;  // a square of the image, in its pixels, wholly inside it
};

// The crop around `mask` ([H, W] bool, the current prediction at the image's resolution) and the
// clicks' pixel coordinates, centred on their bounding box and shifted inside the image; none when
// the mask is empty and there are no clicks, or when the crop would be nearly the whole image.
std::optional<ZoomRoi> zoom_roi(const at::Tensor& mask, const std::vector<std::array<float, 2>>& clicks,
                                const ZoomOptions& options = {});

// The crop's pixels.
io::Image crop_image(const io::Image& image, const ZoomRoi& roi);

// Logits [1, 1, h, w] over a whole width × height image (any h, w: they cover the image) resampled
// bilinearly over the crop → [side, side].
at::Tensor crop_logits(const at::Tensor& logits, const ZoomRoi& roi, int width, int height, std::int64_t side);

// `full` [height, width] logits at the image's resolution with the crop's logits [S, S] resized
// onto the crop's square (a copy; `full` is not changed).
at::Tensor paste_logits(const at::Tensor& full, const at::Tensor& crop, const ZoomRoi& roi);

}  // namespace setok::heads
