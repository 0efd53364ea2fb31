// core/eval/probe_metrics.h: the linear probe's scores and token places on a known grid.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/probe_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(ProbeMetrics, LinearProbeScoresWhatTheFeaturesTell) {
  // Target 0 is an exact linear function of the features: R² 1 on held-out rows. Target 1 is noise
  // drawn apart from them: about 0 (a little below, as the fit chases noise). Target 2 is the first
  // feature squared, which a linear map cannot give from a centred symmetric feature: near 0 too.
  at::manual_seed(3);
  auto x = at::randn({400, 5}, at::kDouble);
  auto exact = (x.narrow(1, 0, 1) * 2.0 - x.narrow(1, 3, 1) * 0.5 + 7.0);
  auto noise = at::randn({400, 1}, at::kDouble);
  auto square = x.narrow(1, 0, 1).pow(2);
  auto y = at::cat({exact, noise, square}, 1);
  auto r2 = linear_probe_r2(x.narrow(0, 0, 200), y.narrow(0, 0, 200), x.narrow(0, 200, 200), y.narrow(0, 200, 200));
  ASSERT_EQ(r2.size(), 3u);
  EXPECT_NEAR(r2[0], 1.0, 1e-4);
  EXPECT_LT(std::abs(r2[1]), 0.1);
  EXPECT_LT(r2[2], 0.1);
  // A held-out target that does not vary has no R²; mismatched shapes are refused.
  auto flat = linear_probe_r2(x.narrow(0, 0, 200), y.narrow(0, 0, 200), x.narrow(0, 200, 200),
                              at::zeros({200, 3}, at::kDouble));
  EXPECT_TRUE(std::isnan(flat[0]));
  EXPECT_THROW(linear_probe_r2(x, y, x.narrow(1, 0, 4), y), setok::Error);
  EXPECT_THROW(linear_probe_r2(x.narrow(0, 0, 1), y.narrow(0, 0, 1), x, y), setok::Error);
}

TEST(ProbeMetrics, TokenPlaceOfAKnownGrid) {
  // A 2 × 4 grid: token 0 holds the left column pair (x centres 1/8, 3/8; both rows), token 1 the
  // single patch at row 0, column 2, token 2 the rest, token 3 nothing.
  //   0 0 1 2
  //   0 0 2 2
  auto a = at::tensor(std::vector<int64_t>{0, 0, 1, 2, 0, 0, 2, 2});
  auto g = token_place(a, 2, 4, 4);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{4, 4}));
  EXPECT_NEAR(g[0][0].item<double>(), 0.25, 1e-12);   // mean of 1/8 and 3/8
  EXPECT_NEAR(g[0][1].item<double>(), 0.5, 1e-12);    // rows at 1/4 and 3/4
  EXPECT_NEAR(g[0][2].item<double>(), 0.125, 1e-12);  // half of 1/4
  EXPECT_NEAR(g[0][3].item<double>(), 0.25, 1e-12);
  EXPECT_NEAR(g[1][0].item<double>(), 5.0 / 8, 1e-12);
  EXPECT_NEAR(g[1][1].item<double>(), 0.25, 1e-12);
  EXPECT_NEAR(g[1][2].item<double>(), 0.0, 1e-12);
  // Token 2: (7/8, 1/4), (5/8, 3/4), (7/8, 3/4): x mean 19/24, y mean 7/12.
  EXPECT_NEAR(g[2][0].item<double>(), 19.0 / 24, 1e-12);
  EXPECT_NEAR(g[2][1].item<double>(), 7.0 / 12, 1e-12);
  EXPECT_TRUE(std::isnan(g[3][0].item<double>()));
  EXPECT_THROW(token_place(a, 3, 4, 4), setok::Error);
}
