#pragma once
// Ground truth per object, measured on the rendered image: what is visible, where.
#include <array>
#include <cstdint>
#include <vector>

#include "core/data/scene.h"
#include "core/data/scene_render.h"

namespace setok::data {

struct ObjectInfo {
  int object = 0;  // index into Scene::objects (= depth order, 0 furthest back)
  int cls = 0, colour = 0, size = 0;
  std::array<int, 4> bbox{};       // x, y, width, height of the visible part
  float cx = 0, cy = 0;            // centroid of the visible part
  int area = 0;                    // visible pixels
  std::vector<std::uint8_t> mask;  // px * px, row-major, 1 = visible
};

std::vector<ObjectInfo> measure_objects(const Scene& scene, const RenderedScene& r);

}  // namespace setok::data
