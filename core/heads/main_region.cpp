#include "core/heads/main_region.h"

#include <algorithm>

#include "core/runtime/error.h"

namespace setok::heads {

namespace {

// Labels the 4-connected parts of the mask (-1 outside it); sizes[k] is part k's pixels.
std::vector<int> label_parts(const std::vector<std::uint8_t>& mask, int width, int height, std::vector<int>& sizes) {
  std::vector<int> label(mask.size(), -1);
  std::vector<int> stack;
  for (int start = 0; start < width * height; ++start) {
    if (!mask[start] || label[start] >= 0) continue;
    const int id = static_cast<int>(sizes.size());
    sizes.push_back(0);
    label[start] = id;
    stack.push_back(start);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      ++sizes[id];
      const int x = p % width, y = p / width;
      auto visit = [&](int nx, int ny) {
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) return;
        const int q = ny * width + nx;
        if (mask[q] && label[q] < 0) {
          label[q] = id;
          stack.push_back(q);
        }
      };
      visit(x - 1, y), visit(x + 1, y), visit(x, y - 1), visit(x, y + 1);
    }
  }
  return label;
}

}  // namespace

std::int64_t keep_main_region(std::vector<std::uint8_t>& mask, int width, int height, double keep) {
  if (width < 0 || height < 0 || mask.size() != static_cast<std::size_t>(width) * height)
    throw Error("keep_main_region: the mask is not width × height");
  std::vector<int> sizes;
  const std::vector<int> label = label_parts(mask, width, height, sizes);
  if (sizes.size() < 2) return 0;
  const double largest = *std::max_element(sizes.begin(), sizes.end());
  std::int64_t dropped = 0;
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (label[i] >= 0 && sizes[static_cast<std::size_t>(label[i])] < keep * largest) {
      mask[i] = 0;
      ++dropped;
    }
  return dropped;
}

}  // namespace setok::heads
