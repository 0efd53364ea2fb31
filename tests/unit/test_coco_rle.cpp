// COCO run-length encoding against examples worked by hand from pycocotools' maskApi.c: column-major
// runs starting with zeros, and the compressed string with its deltas from the fourth count on.
#include <gtest/gtest.h>

#include <random>

#include "core/data/coco_rle.h"
#include "core/runtime/error.h"

using namespace setok::data;

namespace {
std::vector<std::uint8_t> rows(std::initializer_list<std::initializer_list<int>> r) {
  std::vector<std::uint8_t> m;
  for (auto row : r)
    for (int v : row) m.push_back(static_cast<std::uint8_t>(v));
  return m;
}
}  // namespace

TEST(CocoRle, TwoByTwoIsColumnMajorAndStartsWithZeros) {
  // [[0,1],[1,1]] read down the columns: 0,1 | 1,1 -> one zero, three ones.
  Rle r = rle_encode(rows({{0, 1}, {1, 1}}), 2, 2);
  EXPECT_EQ(r.counts, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(rle_to_string(r), "13");
  EXPECT_EQ(rle_area(r), 3u);
}

TEST(CocoRle, MaskStartingWithOnesHasAnEmptyFirstRun) {
  Rle r = rle_encode(std::vector<std::uint8_t>(9, 1), 3, 3);
  EXPECT_EQ(r.counts, (std::vector<std::uint32_t>{0, 9}));
  EXPECT_EQ(rle_to_string(r), "09");
  Rle z = rle_encode(std::vector<std::uint8_t>(6, 0), 2, 3);
  EXPECT_EQ(z.counts, (std::vector<std::uint32_t>{6}));
  EXPECT_EQ(rle_to_string(z), "6");
  EXPECT_EQ(rle_bbox(z), (std::array<int, 4>{0, 0, 0, 0}));
}

TEST(CocoRle, FourthCountIsANegativeDelta) {
  // h=3, w=2, rows [1,0],[1,0],[0,1]: columns 1,1,0 | 0,0,1 -> counts 0,2,3,1.
  Rle r = rle_encode(rows({{1, 0}, {1, 0}, {0, 1}}), 3, 2);
  EXPECT_EQ(r.counts, (std::vector<std::uint32_t>{0, 2, 3, 1}));
  // '0','2','3', then 1 - 2 = -1: low 5 bits 31 with the sign bit, no continuation -> 31 + 48 = 'O'.
  EXPECT_EQ(rle_to_string(r), "023O");
  EXPECT_EQ(rle_from_string("023O", 3, 2).counts, r.counts);
  EXPECT_EQ(rle_bbox(r), (std::array<int, 4>{0, 0, 2, 3}));
}

TEST(CocoRle, MultiGroupCounts) {
  // 100 = 0b11'00100: low group 4 with continuation (4 | 32) + 48 = 'T', then 3 -> '3'.
  Rle r = rle_encode(std::vector<std::uint8_t>(100, 1), 100, 1);
  EXPECT_EQ(rle_to_string(r), "0T3");
  // counts 0,50,10,5: 50 = 18 | 1<<5 -> 'b','1'; 10 -> ':'; 5 - 50 = -45 -> groups 19 (+32) and 30 -> 'c','N'.
  Rle s{65, 1, {0, 50, 10, 5}};
  EXPECT_EQ(rle_to_string(s), "0b1:cN");
  EXPECT_EQ(rle_from_string("0b1:cN", 65, 1).counts, s.counts);
}

TEST(CocoRle, DecodeInvertsEncodeOnRandomMasks) {
  std::mt19937 g(7);
  for (int t = 0; t < 50; ++t) {
    const int h = 1 + static_cast<int>(g() % 40), w = 1 + static_cast<int>(g() % 40);
    std::vector<std::uint8_t> m(static_cast<std::size_t>(h) * w);
    const unsigned density = g() % 100;
    for (auto& v : m) v = (g() % 100) < density;
    Rle r = rle_encode(m, h, w);
    EXPECT_EQ(rle_decode(r), m);
    EXPECT_EQ(rle_from_string(rle_to_string(r), h, w).counts, r.counts);
    std::uint64_t area = 0;
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (m[y * w + x])
          ++area, x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
    EXPECT_EQ(rle_area(r), area);
    if (area > 0) {
      // pycocotools' toBbox widens to full height when a run crosses a column; compare what it guarantees.
      auto b = rle_bbox(r);
      EXPECT_EQ(b[0], x0);
      EXPECT_EQ(b[2], x1 - x0 + 1);
      EXPECT_LE(b[1], y0);
      EXPECT_GE(b[1] + b[3], y1 + 1);
    }
  }
}

TEST(CocoRle, MalformedInputIsAnError) {
  EXPECT_THROW(rle_from_string("0 9", 3, 3), setok::Error);   // ' ' is below the alphabet
  EXPECT_THROW(rle_from_string("0T", 100, 1), setok::Error);  // continuation with nothing after
  EXPECT_THROW(rle_decode(Rle{2, 2, {1, 2}}), setok::Error);  // 3 pixels for a 2x2 mask
}
