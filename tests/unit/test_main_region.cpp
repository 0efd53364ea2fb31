// An expression's mask keeps its main region: which parts go, which stay.
#include "core/heads/main_region.h"

#include <gtest/gtest.h>

#include "core/runtime/error.h"

namespace setok::heads {
namespace {

// An 8 × 4 mask drawn as text: '#' set.
std::vector<std::uint8_t> mask_of(const char* rows) {
  std::vector<std::uint8_t> m;
  for (const char* p = rows; *p; ++p)
    if (*p == '#' || *p == '.') m.push_back(*p == '#');
  return m;
}

TEST(MainRegion, DropsThePartsSmallerThanHalfTheLargest) {
  std::vector<std::uint8_t> m = mask_of(
      "####...#"
      "####...."
      "........"
      "##.....#");
  // Parts: 8 pixels (top left), 1 (top right), 2 (bottom left), 1 (bottom right).
  EXPECT_EQ(keep_main_region(m, 8, 4), 4);
  EXPECT_EQ(m, mask_of("####...."
                       "####...."
                       "........"
                       "........"));
}

TEST(MainRegion, KeepsAnObjectInTwoPiecesAndTouchesNothingWhole) {
  // Two parts of 6 and 4 pixels (an object cut by another in front of it): both stay at keep 0.5.
  std::vector<std::uint8_t> two = mask_of(
      "###..##."
      "###..##."
      "........"
      "........");
  const std::vector<std::uint8_t> before = two;
  EXPECT_EQ(keep_main_region(two, 8, 4), 0);
  EXPECT_EQ(two, before);
  EXPECT_EQ(keep_main_region(two, 8, 4, 1.0), 4);  // the largest alone
  // Diagonal neighbours are separate parts (4-connectivity).
  std::vector<std::uint8_t> diagonal = mask_of(
      "##......"
      "##......"
      "..#....."
      "........");
  EXPECT_EQ(keep_main_region(diagonal, 8, 4), 1);
  std::vector<std::uint8_t> empty(32, 0);
  EXPECT_EQ(keep_main_region(empty, 8, 4), 0);
  std::vector<std::uint8_t> wrong(31, 0);
  EXPECT_THROW(keep_main_region(wrong, 8, 4), Error);
}

}  // namespace
}  // namespace setok::heads
