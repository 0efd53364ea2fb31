// The learning-rate schedule: linear warm-up, then cosine decay to a floor.
#include <gtest/gtest.h>

#include "core/train/schedule.h"

using namespace setok::train;

TEST(Schedule, WarmsUpThenDecaysToTheFloor) {
  EXPECT_DOUBLE_EQ(warmup_cosine_lr(0, 1.0, 4, 100), 0.25);
  EXPECT_DOUBLE_EQ(warmup_cosine_lr(3, 1.0, 4, 100), 1.0);
  EXPECT_NEAR(warmup_cosine_lr(4, 1.0, 4, 100), 1.0, 1e-12);
  EXPECT_NEAR(warmup_cosine_lr(100, 1.0, 4, 100, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(warmup_cosine_lr(52, 1.0, 4, 100, 0.0), 0.5, 1e-12);
}
