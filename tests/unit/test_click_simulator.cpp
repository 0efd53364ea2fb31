// core/eval/click_simulator.h: RITM's click protocol on hand-made masks, and the distance transform
// against a brute-force one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "core/eval/click_simulator.h"
#include "core/runtime/error.h"

using namespace setok::eval;

namespace {

using Mask = std::vector<std::uint8_t>;

Mask rect(int w, int h, int x0, int y0, int x1, int y1, Mask m = {}) {  // [x0, x1] × [y0, y1] set
  if (m.empty()) m.assign(static_cast<std::size_t>(w) * h, 0);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) m[static_cast<std::size_t>(y) * w + x] = 1;
  return m;
}

// Every pixel's distance to the nearest outside pixel, the ring just beyond the image included.
std::vector<float> brute_force_distance(const Mask& m, int w, int h) {
  std::vector<float> d(m.size(), 0.0f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (!m[static_cast<std::size_t>(y) * w + x]) continue;
      double best = std::numeric_limits<double>::infinity();
      for (int v = -1; v <= h; ++v)
        for (int u = -1; u <= w; ++u) {
          const bool outside = u < 0 || v < 0 || u >= w || v >= h || !m[static_cast<std::size_t>(v) * w + u];
          if (outside) best = std::min(best, std::hypot(double(u - x), double(v - y)));
        }
      d[static_cast<std::size_t>(y) * w + x] = static_cast<float>(best);
    }
  return d;
}

}  // namespace

TEST(ClickSimulator, DistanceInsideCountsTheBorderAsOutside) {
  const Mask all(5 * 5, 1);
  const std::vector<float> d = distance_inside(all, 5, 5);
  EXPECT_FLOAT_EQ(d[0], 1.0f);          // a corner touches the border
  EXPECT_FLOAT_EQ(d[2 * 5 + 2], 3.0f);  // the centre is three steps from it
  EXPECT_FLOAT_EQ(d[1 * 5 + 1], 2.0f);
  const Mask none(5 * 5, 0);
  for (float v : distance_inside(none, 5, 5)) EXPECT_EQ(v, 0.0f);
}

TEST(ClickSimulator, DistanceInsideIsExactlyEuclidean) {
  std::mt19937 rng(7);
  for (auto [w, h] : {std::pair{13, 7}, std::pair{1, 9}, std::pair{16, 16}, std::pair{9, 1}}) {
    Mask m(static_cast<std::size_t>(w) * h);
    for (auto& v : m) v = rng() % 5 != 0;  // mostly inside: long distances
    const std::vector<float> got = distance_inside(m, w, h), want = brute_force_distance(m, w, h);
    for (std::size_t i = 0; i < m.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << w << "x" << h << " pixel " << i;
  }
}

TEST(ClickSimulator, ASquaresInteriorPointIsItsCentre) {
  const Mask sq = rect(12, 10, 3, 2, 7, 6);  // 5 × 5, centre (5, 4)
  const auto c = interior_click(sq, 12, 10);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->x, 5);
  EXPECT_EQ(c->y, 4);
  EXPECT_TRUE(c->positive);
  // An even square has four centre pixels: the first in row-major order wins.
  const auto e = interior_click(rect(8, 8, 2, 2, 5, 5), 8, 8);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->x, 3);
  EXPECT_EQ(e->y, 3);
}

TEST(ClickSimulator, AnLShapesInteriorPointIsInsideItWhereItIsThickest) {
  // A thick vertical bar and a thin foot: the L's centroid falls outside it; the click must not.
  const int w = 24, h = 24;
  Mask l = rect(w, h, 2, 2, 8, 20);  // 7 wide
  l = rect(w, h, 9, 18, 21, 20, l);  // 3 tall
  const auto c = interior_click(l, w, h);
  ASSERT_TRUE(c);
  EXPECT_EQ(l[static_cast<std::size_t>(c->y) * w + c->x], 1);
  EXPECT_EQ(c->x, 5);  // the bar's middle column, 4 from both of its sides
  const std::vector<float> d = brute_force_distance(l, w, h);
  float best = 0;
  for (float v : d) best = std::max(best, v);
  EXPECT_FLOAT_EQ(d[static_cast<std::size_t>(c->y) * w + c->x], best);
  EXPECT_FLOAT_EQ(best, 4.0f);
  EXPECT_EQ(c->y, 5);  // the first row 4 from the bar's top
}

TEST(ClickSimulator, NoClickOnAnEmptyObjectOrAnExactMask) {
  const Mask empty(10 * 10, 0);
  EXPECT_FALSE(interior_click(empty, 10, 10));
  const Mask sq = rect(10, 10, 2, 2, 6, 6);
  EXPECT_FALSE(next_click(sq, sq, 10, 10));
  EXPECT_FALSE(next_click(empty, empty, 10, 10));
  // An empty prediction: the next click is the first one.
  const auto first = next_click(sq, empty, 10, 10);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->x, 4);
  EXPECT_EQ(first->y, 4);
  EXPECT_TRUE(first->positive);
}

TEST(ClickSimulator, NextClickGoesToTheLargerErrorWithTheRightSign) {
  const int w = 30, h = 20;
  const Mask truth = rect(w, h, 2, 2, 15, 15);
  // Missed: a 7 × 7 block of the object; wrongly added: a 3 × 3 blob outside it.
  Mask pred = truth;
  for (int y = 9; y <= 15; ++y)
    for (int x = 9; x <= 15; ++x) pred[static_cast<std::size_t>(y) * w + x] = 0;
  pred = rect(w, h, 22, 5, 24, 7, pred);
  auto c = next_click(truth, pred, w, h);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->positive);
  EXPECT_EQ(c->x, 12);  // the missed block's centre
  EXPECT_EQ(c->y, 12);
  // The other way round: a large wrongly added region beats a small miss.
  Mask pred2 = rect(w, h, 18, 4, 26, 12, truth);   // 9 × 9 outside the object
  pred2[static_cast<std::size_t>(3) * w + 3] = 0;  // one missed pixel
  c = next_click(truth, pred2, w, h);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->positive);
  EXPECT_EQ(c->x, 22);
  EXPECT_EQ(c->y, 8);
}

TEST(ClickSimulator, ATieGivesTheNegativeClickAsRitmDoes) {
  const int w = 20, h = 10;
  const Mask truth = rect(w, h, 1, 1, 5, 5);
  const Mask pred = rect(w, h, 11, 1, 15, 5);  // the same square, in the wrong place
  const auto c = next_click(truth, pred, w, h);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->positive);
  EXPECT_EQ(c->x, 13);
  EXPECT_EQ(c->y, 3);
}

TEST(ClickSimulator, RefusesMasksOfTheWrongSize) {
  const Mask m(10, 1);
  EXPECT_THROW(distance_inside(m, 3, 3), setok::Error);
  EXPECT_THROW(interior_click(m, 5, 5), setok::Error);
  EXPECT_THROW(next_click(m, Mask(9, 0), 5, 2), setok::Error);
}
