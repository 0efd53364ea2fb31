// The object judge's input and its bookkeeping: the crop it reads of a region, and thirds.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/eval/object_judge.h"
#include "core/eval/picture_objects.h"
#include "core/runtime/error.h"

using namespace setok;

TEST(ObjectJudge, CropsTheRegionSquareWithItsMaskAsAFourthChannel) {
  at::Tensor img = at::zeros({3, 64, 64});
  img[0].narrow(0, 10, 10).narrow(1, 40, 20).fill_(1);  // a red 10 × 20 box at rows 10-19, cols 40-59
  at::Tensor mask = img[0] > 0.5;
  at::Tensor c = eval::judge_crop(img, mask, 32);
  ASSERT_EQ(c.sizes().vec(), (std::vector<int64_t>{4, 32, 32}));
  // The region sits in the middle of the crop, red where the mask is; the margin is background.
  EXPECT_GT(c[3][16][16].item<float>(), 0.9);
  EXPECT_GT(c[0][16][16].item<float>(), 0.9);
  EXPECT_LT(c[3][1][16].item<float>(), 0.1);
  EXPECT_LT(c[1].abs().max().item<float>(), 1e-6);  // no green anywhere
  EXPECT_NEAR(c[3].mean().item<double>(), 10.0 * 20.0 / (27.0 * 27.0), 0.06);
  EXPECT_THROW(eval::judge_crop(img, at::zeros({64, 64}, at::kBool), 32), Error);
}

TEST(ObjectJudge, ConfigRoundTripsAndTheNetworkNamesEveryClass) {
  const eval::ObjectJudgeConfig c = eval::ObjectJudgeConfig::scenes_world();
  EXPECT_EQ(c.classes.size(), 18u);
  EXPECT_EQ(c.colours.size(), 8u);
  EXPECT_EQ(eval::ObjectJudgeConfig::from_json(c.to_json()).to_json(), c.to_json());
  nlohmann::json bad = c.to_json();
  bad["crop"] = 30;
  EXPECT_THROW(eval::ObjectJudgeConfig::from_json(bad), Error);
  eval::ObjectJudge j(c);
  auto l = j->forward(at::rand({2, 4, 32, 32}));
  EXPECT_EQ(l.cls.sizes().vec(), (std::vector<int64_t>{2, 19}));  // 18 classes and "no object"
  EXPECT_EQ(l.colour.sizes().vec(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(eval::third(0, 128), 0);
  EXPECT_EQ(eval::third(42.6, 128), 0);
  EXPECT_EQ(eval::third(42.7, 128), 1);
  EXPECT_EQ(eval::third(127.9, 128), 2);
}
