// core/eval/retrieval_metrics.h: zero-shot top-1, its ties and NaN scores.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/retrieval_metrics.h"
#include "core/runtime/error.h"
#include "tests/support/label_tensors.h"

using namespace setok::eval;
using setok::test::Labels;
using setok::test::labels_tensor;

TEST(ZeroShot, TiesGoToTheLowestClassAndNanNeverWins) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto scores = at::tensor({0.1, 0.9, 0.9,   // tie between 1 and 2 → 1
                            0.5, 0.5, 0.2,   // tie between 0 and 1 → 0
                            nan, 0.3, 0.1,   // NaN skipped → 1
                            0.2, 0.1, 0.0,   // → 0
                            nan, nan, nan},  // nothing comparable → 0
                           at::kDouble)
                    .view({5, 3});
  EXPECT_EQ(top1_predictions(scores), (std::vector<int64_t>{1, 0, 1, 0, 0}));
  // Labels {1,1,1,0,2}: rows 0, 2, 3 right → 3/5.
  EXPECT_DOUBLE_EQ(top1_accuracy(scores.to(at::kFloat), labels_tensor({1, 1, 1, 0, 2})), 0.6);
  EXPECT_THROW(top1_accuracy(scores, labels_tensor({1, 1})), setok::Error);
}
