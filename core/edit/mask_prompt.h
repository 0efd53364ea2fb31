#pragma once
// What produced a mask in the Segment tool (the expression, clicks, box and the decoder's logits),
// kept beside the mask so that the next click refines it instead of starting over, as click tools
// feed the last mask back to the decoder (SAM's "previous mask" prompt). Qt-free and torch-free.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/heads/segmenter.h"

namespace setok::edit {

struct MaskPrompt {
  std::string expression;
  std::vector<heads::Click> clicks;
  std::optional<heads::Box> box;
  // The decoder's low-resolution logits for this very mask (low_res_side²); empty once the mask no
  // longer is what the decoder gave (a brush stroke, an alternative picked, a token's mask).
  std::vector<float> low_res;
  int low_res_side = 0;
  bool empty() const { return expression.empty() && clicks.empty() && !box && low_res.empty(); }
};

// The query that refines `mask` (0/1 at the image's resolution, or empty) with the clicks and box of
// `prompt`: its logits as SegmentQuery::previous, else a non-empty mask as SegmentQuery::start_mask.
// The expression is not sent again: the logits already carry what it found (and a click stays a
// decoder-only query, with no language model pass).
heads::SegmentQuery refine_query(const MaskPrompt& prompt, const std::vector<std::uint8_t>& mask);

}  // namespace setok::edit
