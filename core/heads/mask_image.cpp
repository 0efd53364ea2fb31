// The segmenter's masks as files and pictures (declared in segmenter.h).
#include <algorithm>

#include "core/heads/segmenter.h"
#include "core/runtime/error.h"

namespace setok::heads {

void save_mask_png(const std::string& path, int width, int height, const std::vector<std::uint8_t>& mask) {
  if (mask.size() != static_cast<std::size_t>(width) * height) throw Error("mask size does not match its image");
  std::vector<std::int32_t> v(mask.size());
  std::transform(mask.begin(), mask.end(), v.begin(), [](std::uint8_t m) { return m ? 255 : 0; });
  io::save_index_png(path, width, height, v);
}

io::Image mask_overlay(const io::Image& image, const std::vector<std::uint8_t>& mask) {
  if (mask.size() != static_cast<std::size_t>(image.width) * image.height)
    throw Error("mask size does not match its image");
  io::Image out = image;
  const int w = image.width, h = image.height;
  auto at = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < w && y < h && mask[static_cast<std::size_t>(y) * w + x];
  };
  const std::uint8_t tint[3] = {30, 144, 255}, edge[3] = {255, 255, 255};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (!at(x, y)) continue;
      const bool border = !at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1);
      std::uint8_t* p = &out.rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      for (int c = 0; c < 3; ++c) p[c] = border ? edge[c] : static_cast<std::uint8_t>((p[c] + tint[c]) / 2);
    }
  return out;
}

}  // namespace setok::heads
