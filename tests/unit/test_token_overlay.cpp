// Token maps, colours, statistics and the overlay the CLI writes and the studio shows.
#include <gtest/gtest.h>

#include <set>

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
