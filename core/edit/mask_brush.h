#pragma once
// The round brush of the Segment tool's touch-ups: a stroke sets (brush) or clears (eraser) every
// pixel whose centre lies within `radius` of the pointer's path, as a circle dragged along it.
#include <cstdint>
#include <vector>

namespace setok::edit {

struct Point {
  float x = 0, y = 0;  // image pixel coordinates (pixel (i, j) covers [i, i+1) × [j, j+1))
};

// `mask` is row-major width × height (0/1). One point paints a disc; a radius below √½ is raised to
// it, so that every point paints at least the pixel under it. Returns how many pixels changed.
std::int64_t paint_stroke(std::vector<std::uint8_t>& mask, int width, int height, const std::vector<Point>& path,
                          float radius, std::uint8_t value);

}  // namespace setok::edit
