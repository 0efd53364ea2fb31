#pragma once
// The square grid of patches (row-major) that the Token Cluster's grid position and its clean-up
// steps work on: its side, and a patch's 4-neighbours. Internal to core/tokenizer/.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/runtime/error.h"

namespace setok::tokenizer {

// The side of a square grid of n patches; `setting` names what needs the grid in the error.
inline int64_t square_side(int64_t n, const char* setting) {
  const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  if (side * side != n)
    throw Error(std::string(setting) + " needs a square patch grid; got " + std::to_string(n) + " patches");
  return side;
}

// Patch p's 4-neighbours on a side × side grid (row-major): up, down, left, right; -1 off the grid.
inline std::array<int64_t, 4> neighbours4(int64_t p, int64_t side) {
  const int64_t row = p / side, col = p % side;
  return {row > 0 ? p - side : -1, row + 1 < side ? p + side : -1, col > 0 ? p - 1 : -1, col + 1 < side ? p + 1 : -1};
}

}  // namespace setok::tokenizer
