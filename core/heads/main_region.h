#pragma once
// An expression names one object, so its mask keeps its main region: the decoder's stray blobs on
// another object or in the background go. A part at least half the largest stays (an object behind
// another can show in two pieces). SAM's mask generator removes small regions the same way, by an
// absolute area; a share of the largest part works at any image size. Measured on the scenes
// world's validation split (3,117 sentences): gIoU 0.847 → 0.855, cIoU 0.831 → 0.840; keeping the
// largest part alone gave 0.853 / 0.840. Torch-free.
#include <cstdint>
#include <vector>

namespace setok::heads {

// Drops every 4-connected part of `mask` (0/1, row-major, width × height) smaller than `keep` times
// the largest. Returns the pixels dropped. Throws setok::Error when the size does not match.
std::int64_t keep_main_region(std::vector<std::uint8_t>& mask, int width, int height, double keep = 0.5);

}  // namespace setok::heads
