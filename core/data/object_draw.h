#pragma once
// One object's footprint: its anti-aliased alpha (0..255) over the whole image and, for
// Fashion-MNIST items, a per-pixel shade (0..255) that keeps the item's texture under the tint.
#include <cstdint>
#include <vector>

#include "core/data/scene.h"

namespace setok::data {

struct ObjectLayer {
  std::vector<std::uint8_t> alpha;  // px * px
  std::vector<std::uint8_t> shade;  // px * px, empty for flat-coloured shapes
};

// Needs OpenCV (throws setok::Error without it).
ObjectLayer draw_object(const SceneObject& o, int px);

}  // namespace setok::data
