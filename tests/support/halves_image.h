#pragma once
// A small picture of two flat halves (red left, dark right, a green ramp down), so that there is
// something to segment or edit.
#include <cstdint>
#include <vector>

#include "core/io/image.h"

namespace setok::test {

inline io::Image halves_image(int w = 64, int h = 48) {
  io::Image img{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = &img.rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = x < w / 2 ? 220 : 20, p[1] = static_cast<std::uint8_t>(y * 5), p[2] = 90;
    }
  return img;
}

}  // namespace setok::test
