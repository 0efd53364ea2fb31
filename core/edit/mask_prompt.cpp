#include "core/edit/mask_prompt.h"

#include <algorithm>

namespace setok::edit {

heads::SegmentQuery refine_query(const MaskPrompt& prompt, const std::vector<std::uint8_t>& mask) {
  heads::SegmentQuery q;
  q.clicks = prompt.clicks;
  q.box = prompt.box;
  if (!prompt.low_res.empty()) q.previous = prompt.low_res;
  else if (std::any_of(mask.begin(), mask.end(), [](std::uint8_t v) { return v != 0; })) q.start_mask = mask;
  return q;
}

}  // namespace setok::edit
