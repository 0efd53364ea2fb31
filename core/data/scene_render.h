#pragma once
// Draws a scene description: the background, then the objects back to front with anti-aliased
// edges, and each object's visible mask (what a segmenter should find). Deterministic: the same
// description gives the same bytes.
#include <cstdint>
#include <vector>

#include "core/data/scene.h"
#include "core/io/image.h"

namespace setok::data {

struct RenderedScene {
  io::Image image;
  io::Image background;  // the background alone (edits that remove reveal it)
  // Per object, px * px: 1 where at least half the pixel is this object and no later object covers
  // half of it; occluded parts are not in the mask.
  std::vector<std::vector<std::uint8_t>> visible;
  std::vector<std::vector<std::uint8_t>> alpha;  // per object, its own coverage 0..255 before occlusion
};

// Needs OpenCV; throws setok::Error without it, or when the assets a scene uses are missing.
RenderedScene render_scene(const Scene& scene);

io::Image render_background(const Background& b, int px);

bool scenes_available();  // false in builds without OpenCV

}  // namespace setok::data
