#pragma once
// Token masks as people look at them: per-pixel token maps at the image's resolution, stable
// colours, per-token statistics and a coloured overlay. No torch here: the studio uses it too.
#include <cstdint>
#include <vector>

#include "core/io/image.h"

namespace setok::tokenizer {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

// The colour of token `index`: the same on every run, neighbouring indices far apart in hue.
Rgb token_colour(int index);

// Nearest-neighbour resize of a grid_h × grid_w map of token indices to width × height.
std::vector<std::int32_t> upsample_token_map(const std::vector<std::int32_t>& grid, int grid_h, int grid_w, int width,
                                             int height);

struct TokenStat {
  int index = 0;
  std::int64_t area = 0;  // pixels
  int x = 0, y = 0, w = 0, h = 0;  // bounding box
  double cx = 0, cy = 0;           // centroid
  Rgb colour;
};
std::vector<TokenStat> token_stats(const std::vector<std::int32_t>& map, int width, int height, int tokens);

// The image with each token's pixels tinted by its colour (opacity in [0,1]) and, optionally,
// token boundaries drawn in that colour.
io::Image render_overlay(const io::Image& img, const std::vector<std::int32_t>& map, float opacity, bool outline);

}  // namespace setok::tokenizer
