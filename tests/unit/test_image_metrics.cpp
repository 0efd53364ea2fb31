// core/eval/image_metrics.h: PSNR, pixel spread and SSIM on cases worked out by hand in the comments.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/image_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(ImageMetrics, PsnrOfAKnownMse) {
  // Error 0.1 everywhere: MSE = 0.01, PSNR = 10·log10(1/0.01) = 20 dB; error 0.01: 40 dB.
  auto x = at::zeros({2, 3, 8, 8});
  auto y = x.clone();
  y[0].fill_(0.1);
  y[1].fill_(0.01);
  auto p = psnr(x, y);
  EXPECT_EQ(p.scalar_type(), at::kDouble);
  EXPECT_NEAR(p[0].item<double>(), 20.0, 1e-5);  // 0.1 is not exact in float32
  EXPECT_NEAR(p[1].item<double>(), 40.0, 1e-4);
  // Range 255, error 25.5: 255²/25.5² = 100 → 20 dB again.
  EXPECT_NEAR(
      psnr(x.to(at::kDouble), at::full({1, 3, 8, 8}, 25.5, at::kDouble).expand({2, 3, 8, 8}), 255.0)[0].item<double>(),
      20.0, 1e-9);
  EXPECT_TRUE(std::isinf(psnr(y, y)[0].item<double>()));
  EXPECT_NEAR(l1_error(x, y)[0].item<double>(), 0.1, 1e-7);
  EXPECT_THROW(psnr(x, y[0]), setok::Error);
}

TEST(ImageMetrics, PixelSpreadOfKnownImages) {
  // A flat image of any colour: 0. Half black, half white in every channel: 0.5. One channel
  // half 0 / half 1 and two flat: 0.5 / 3.
  auto x = at::zeros({3, 3, 4, 4});
  x[0].fill_(0.7);
  x[1].narrow(2, 0, 2).fill_(1.0);
  x[2][1].narrow(1, 2, 2).fill_(1.0);
  auto s = pixel_spread(x);
  EXPECT_EQ(s.scalar_type(), at::kDouble);
  EXPECT_NEAR(s[0].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(s[1].item<double>(), 0.5, 1e-9);
  EXPECT_NEAR(s[2].item<double>(), 0.5 / 3, 1e-9);
  EXPECT_NEAR(pixel_spread(x[1])[0].item<double>(), 0.5, 1e-9);  // one image [C,H,W]
  EXPECT_THROW(pixel_spread(at::zeros({4, 4})), setok::Error);
}

TEST(ImageMetrics, SsimIsOneForIdenticalImages) {
  at::manual_seed(0);
  auto x = at::rand({2, 3, 16, 16});
  auto s = ssim(x, x);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(s[0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(s[1].item<double>(), 1.0, 1e-12);
  EXPECT_LT(ssim(x, (x + 0.2 * at::randn_like(x)).clamp(0, 1))[0].item<double>(), 0.9);
  EXPECT_THROW(ssim(at::rand({1, 3, 10, 16}), at::rand({1, 3, 10, 16})), setok::Error);
}

TEST(ImageMetrics, SsimOfConstantImagesIsTheLuminanceTerm) {
  // Constant images a and b: every local variance and covariance is 0, so the contrast-structure
  // term is (0 + C2)/(0 + C2) = 1 and SSIM = (2ab + C1)/(a² + b² + C1) with C1 = (0.01)².
  // a = 0.5, b = 0.25: (0.25 + 0.0001)/(0.3125 + 0.0001) = 0.2501/0.3126.
  const double lum = 0.2501 / 0.3126;
  auto a = at::full({1, 3, 12, 12}, 0.5, at::kDouble), b = at::full({1, 3, 12, 12}, 0.25, at::kDouble);
  EXPECT_NEAR(ssim(a, b).item<double>(), lum, 1e-9);
  // Channels are scored separately and averaged: channel 0 identical (1), channels 1–2 constant.
  at::manual_seed(1);
  auto x = a.clone(), y = b.clone();
  auto noise = at::rand({12, 12}, at::kDouble);
  x[0][0].copy_(noise);
  y[0][0].copy_(noise);
  EXPECT_NEAR(ssim(x, y).item<double>(), (1.0 + 2.0 * lum) / 3.0, 1e-9);
}

TEST(ImageMetrics, SsimMatchesADirectWindowSum) {
  // 12×12 leaves 2×2 valid window positions: compute each from the 11×11 Gaussian by hand.
  at::manual_seed(2);
  auto x = at::rand({1, 1, 12, 12}, at::kDouble), y = at::rand({1, 1, 12, 12}, at::kDouble);
  double w[11][11], total = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 11; ++j) total += w[i][j] = std::exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / 4.5);
  const double c1 = 1e-4, c2 = 9e-4;
  auto xa = x.accessor<double, 4>(), ya = y.accessor<double, 4>();
  double expected = 0;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          const double k = w[i][j] / total, a = xa[0][0][r + i][c + j], b = ya[0][0][r + i][c + j];
          mx += k * a;
          my += k * b;
          sxx += k * a * a;
          syy += k * b * b;
          sxy += k * a * b;
        }
      const double vx = sxx - mx * mx, vy = syy - my * my, cxy = sxy - mx * my;
      expected += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)) / 4;
    }
  EXPECT_NEAR(ssim(x, y).item<double>(), expected, 1e-12);
}
