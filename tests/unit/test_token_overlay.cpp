// Token maps, colours, statistics and the overlay the CLI writes and the studio shows.
#include <gtest/gtest.h>

#include <set>

#include "core/runtime/error.h"
#include "core/tokenizer/token_overlay.h"

using namespace setok::tokenizer;

TEST(TokenOverlay, ColoursAreStableAndDistinct) {
  std::set<std::tuple<int, int, int>> seen;
  for (int i = 0; i < 64; ++i) {
    Rgb a = token_colour(i), b = token_colour(i);
    EXPECT_EQ(std::make_tuple(a.r, a.g, a.b), std::make_tuple(b.r, b.g, b.b));
    seen.insert({a.r, a.g, a.b});
  }
  EXPECT_EQ(seen.size(), 64u);
  Rgb c0 = token_colour(0), c1 = token_colour(1);
  EXPECT_GT(std::abs(c0.r - c1.r) + std::abs(c0.g - c1.g) + std::abs(c0.b - c1.b), 120) << "neighbours differ clearly";
}

TEST(TokenOverlay, UpsamplesAndMeasuresAHandMadeMap) {
  // 2x2 grid: token 0 on the left column, 1 top-right, 2 bottom-right; image 4 wide, 2 high.
  std::vector<int32_t> map = upsample_token_map({0, 1, 0, 2}, 2, 2, 4, 2);
  EXPECT_EQ(map, (std::vector<int32_t>{0, 0, 1, 1, 0, 0, 2, 2}));
  auto s = token_stats(map, 4, 2, 4);
  EXPECT_EQ(s[0].area, 4);
  EXPECT_EQ(std::make_tuple(s[0].x, s[0].y, s[0].w, s[0].h), std::make_tuple(0, 0, 2, 2));
  EXPECT_DOUBLE_EQ(s[0].cx, 0.5);
  EXPECT_DOUBLE_EQ(s[0].cy, 0.5);
  EXPECT_EQ(s[2].area, 2);
  EXPECT_DOUBLE_EQ(s[2].cx, 2.5);
  EXPECT_DOUBLE_EQ(s[2].cy, 1.0);
  EXPECT_EQ(s[3].area, 0) << "a token with no pixels has zero area";
}

TEST(TokenOverlay, OverlayTintsByOpacity) {
  setok::io::Image img{3, 1, {10, 20, 30, 10, 20, 30, 10, 20, 30}};
  std::vector<int32_t> map = {0, 0, 0};
  auto same = render_overlay(img, map, 0.0f, false);
  EXPECT_EQ(same.rgb, img.rgb);
  auto full = render_overlay(img, map, 1.0f, false);
  Rgb c = token_colour(0);
  EXPECT_EQ(full.rgb[3], c.r);
  EXPECT_EQ(full.rgb[4], c.g);
  EXPECT_EQ(full.rgb[5], c.b);
  auto half = render_overlay(img, {0, 1, 1}, 0.0f, true);  // boundary pixels drawn at full colour
  EXPECT_EQ(half.rgb[0], c.r);
  EXPECT_EQ(half.rgb[3], token_colour(1).r);
}

namespace {
setok::io::Image two_colour_image(int w, int h, int split_x) {  // red left of split_x, blue from it on
  setok::io::Image img{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3, 0)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.rgb[(static_cast<std::size_t>(y) * w + x) * 3 + (x < split_x ? 0 : 2)] = 200;
  return img;
}
}  // namespace

TEST(TokenOverlay, RefinementMovesAPatchEdgeOntoTheColourEdge) {
  // 16 x 16 pixels, 2 x 2 patches of 8: the red object ends at x = 6, inside the left patches, which
  // the grid gives wholly to token 0. The two blue columns 6 and 7 must move to token 1.
  setok::io::Image img = two_colour_image(16, 16, 6);
  std::vector<int32_t> out = refine_token_map(img, {0, 1, 0, 1}, 2, 2);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) ASSERT_EQ(out[y * 16 + x], x < 6 ? 0 : 1) << "pixel " << x << "," << y;
  // Already aligned: nothing moves.
  setok::io::Image aligned = two_colour_image(16, 16, 8);
  EXPECT_EQ(refine_token_map(aligned, {0, 1, 0, 1}, 2, 2), upsample_token_map({0, 1, 0, 1}, 2, 2, 16, 16));
}

TEST(TokenOverlay, RefinementMovesPixelsAtMostOnePatch) {
  // 4 x 1 patches of 4 px: tokens 0 0 0 1. The first patch is blue like token 1, but token 1 is two
  // patches away, so it stays token 0; the third patch's blue pixels (x >= 10) join token 1.
  setok::io::Image img{16, 4, std::vector<std::uint8_t>(16 * 4 * 3, 0)};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 16; ++x) img.rgb[(y * 16 + x) * 3 + (x < 4 || x >= 10 ? 2 : 0)] = 200;
  std::vector<int32_t> out = refine_token_map(img, {0, 0, 0, 1}, 1, 4);
  for (int x = 0; x < 16; ++x) EXPECT_EQ(out[x], x < 10 ? 0 : 1) << "pixel " << x;
  // Cells without a token stay without one; a one-token grid is returned as it is.
  std::vector<int32_t> none = refine_token_map(img, {-1, 0, 0, 1}, 1, 4);
  for (int x = 0; x < 4; ++x) EXPECT_EQ(none[x], -1);
  EXPECT_EQ(refine_token_map(img, {0, 0, 0, 0}, 1, 4), std::vector<int32_t>(64, 0));
}

TEST(TokenOverlay, RefinementRejectsAMismatchedImage) {
  setok::io::Image bad{4, 4, std::vector<std::uint8_t>(10, 0)};
  EXPECT_THROW(refine_token_map(bad, {0, 1, 0, 1}, 2, 2), setok::Error);
  setok::io::Image ok = two_colour_image(4, 4, 2);
  EXPECT_THROW(refine_token_map(ok, {0, 1, 0}, 2, 2), setok::Error);
}
