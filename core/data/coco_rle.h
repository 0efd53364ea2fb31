#pragma once
// COCO's run-length encoding of binary masks, as pycocotools' maskApi.c defines it: runs over the
// pixels in column-major (Fortran) order, alternating 0s and 1s, starting with a run of 0s (which
// may be empty). The compressed form is pycocotools' string: each count (from the fourth on, as
// the difference to the count two before) in 5-bit groups, little end first, offset by '0'.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace setok::data {

struct Rle {
  int height = 0, width = 0;
  std::vector<std::uint32_t> counts;
};

// `mask` is row-major height x width; nonzero = inside.
Rle rle_encode(const std::uint8_t* mask, int height, int width);
inline Rle rle_encode(const std::vector<std::uint8_t>& mask, int height, int width) {
  return rle_encode(mask.data(), height, width);
}
// Row-major 0/1 mask. Throws setok::Error when the counts do not add up to height x width.
std::vector<std::uint8_t> rle_decode(const Rle& rle);

std::string rle_to_string(const Rle& rle);
// Throws setok::Error on characters outside the alphabet or a truncated count.
Rle rle_from_string(const std::string& s, int height, int width);

std::uint64_t rle_area(const Rle& rle);
// x, y, width, height of the pixels inside (all zero for an empty mask), as pycocotools' toBbox.
std::array<int, 4> rle_bbox(const Rle& rle);

}  // namespace setok::data
