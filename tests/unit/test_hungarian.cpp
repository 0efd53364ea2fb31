// core/eval/hungarian.h: Hungarian matching against known optima and brute force.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/hungarian.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(Hungarian, ThreeByThreeKnownOptimum) {
  // The six permutations cost: (0,1,2) 4+0+2 = 6, (0,2,1) 11, (1,0,2) 1+2+2 = 5, (1,2,0) 9,
  // (2,0,1) 7, (2,1,0) 6. The unique optimum is rows → columns (1,0,2), cost 5; greedy (take the
  // 0 at (1,1) first) ends at 6.
  const std::vector<std::vector<double>> cost{{4, 1, 3}, {2, 0, 5}, {3, 2, 2}};
  EXPECT_EQ(hungarian_assignment(cost), (std::vector<int64_t>{1, 0, 2}));
}

TEST(Hungarian, RectangularMatrices) {
  // 2×3: pairs cost r0c0+r1c1 = 5, r0c0+r1c2 = 7, r0c1+r1c0 = 4, r0c1+r1c2 = 8, r0c2+r1c0 = 5,
  // r0c2+r1c1 = 7 → (1,0).
  EXPECT_EQ(hungarian_assignment({{1, 2, 3}, {2, 4, 6}}), (std::vector<int64_t>{1, 0}));
  // Its transpose: the same matching, the extra row left out.
  EXPECT_EQ(hungarian_assignment({{1, 2}, {2, 4}, {3, 6}}), (std::vector<int64_t>{1, 0, -1}));
  EXPECT_TRUE(hungarian_assignment({}).empty());
}

TEST(Hungarian, MatchesBruteForceOnRandomMatrices) {
  at::manual_seed(3);
  for (int trial = 0; trial < 20; ++trial) {
    auto m = at::rand({5, 5}, at::kDouble);
    std::vector<std::vector<double>> cost(5, std::vector<double>(5));
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) cost[i][j] = m[i][j].item<double>();
    std::vector<int> perm{0, 1, 2, 3, 4};
    double best = std::numeric_limits<double>::infinity();
    do {
      double s = 0;
      for (int i = 0; i < 5; ++i) s += cost[i][perm[i]];
      best = std::min(best, s);
    } while (std::next_permutation(perm.begin(), perm.end()));
    const auto a = hungarian_assignment(cost);
    double s = 0;
    for (int i = 0; i < 5; ++i) s += cost[i][a[i]];
    EXPECT_NEAR(s, best, 1e-12);
  }
}
