#include "core/edit/mask_brush.h"

#include <algorithm>
#include <cmath>

#include "core/runtime/error.h"

namespace setok::edit {

namespace {

// Squared distance from (px, py) to the segment a-b.
float distance2(float px, float py, const Point& a, const Point& b) {
  const float dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  float t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0.0f;
  t = std::clamp(t, 0.0f, 1.0f);
  const float ex = px - (a.x + t * dx), ey = py - (a.y + t * dy);
  return ex * ex + ey * ey;
}

// One capsule: the segment a-b swept by the disc, over the pixels of its bounding box only.
std::int64_t paint_segment(std::vector<std::uint8_t>& mask, int width, int height, const Point& a, const Point& b,
                           float radius, std::uint8_t value) {
  const int x0 = std::max(0, static_cast<int>(std::floor(std::min(a.x, b.x) - radius)));
  const int x1 = std::min(width - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + radius)));
  const int y0 = std::max(0, static_cast<int>(std::floor(std::min(a.y, b.y) - radius)));
  const int y1 = std::min(height - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + radius)));
  const float r2 = radius * radius;
  std::int64_t changed = 0;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      if (distance2(x + 0.5f, y + 0.5f, a, b) > r2) continue;
      std::uint8_t& m = mask[static_cast<std::size_t>(y) * width + x];
      if (m != value) {
        m = value;
        ++changed;
      }
    }
  return changed;
}

}  // namespace

std::int64_t paint_stroke(std::vector<std::uint8_t>& mask, int width, int height, const std::vector<Point>& path,
                          float radius, std::uint8_t value) {
  if (width <= 0 || height <= 0 || mask.size() != static_cast<std::size_t>(width) * height)
    throw Error("brush: the mask is not " + std::to_string(width) + "x" + std::to_string(height));
  if (path.empty()) return 0;
  // Half a pixel at least: a thin brush still reaches the centre of the pixel it is over.
  radius = std::max(radius, 0.5f * std::sqrt(2.0f));
  std::int64_t changed = paint_segment(mask, width, height, path[0], path[0], radius, value);
  for (std::size_t i = 1; i < path.size(); ++i)
    changed += paint_segment(mask, width, height, path[i - 1], path[i], radius, value);
  return changed;
}

}  // namespace setok::edit
