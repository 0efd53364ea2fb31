// core/eval/segmentation_metrics.h: ARI, foreground ARI and its breakdown, instance mIoU and
// token-count agreement, on small cases whose answers are worked out by hand in the comments.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/hungarian.h"
#include "core/eval/segmentation_metrics.h"
#include "core/runtime/error.h"
#include "tests/support/label_tensors.h"

using namespace setok::eval;
using setok::test::Labels;
using setok::test::labels_tensor;

TEST(AdjustedRandIndex, IdenticalPartitionsScoreOne) {
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{0, 0, 1, 1, 2}, Labels{0, 0, 1, 1, 2}), 1.0);
  // Same partition under other names: only which points share a label matters.
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{0, 0, 1, 1, 2}, Labels{7, 7, -3, -3, 100}), 1.0);
}

TEST(AdjustedRandIndex, KnownTwoByTwoContingency) {
  // truth {0,0,0,1,1,1}, pred {0,0,1,1,1,1}: n_ij = [[2,1],[0,3]], rows a = (3,3), cols b = (2,4).
  // Σ C(n_ij,2) = 1+0+0+3 = 4; Σ C(a,2) = 3+3 = 6; Σ C(b,2) = 1+6 = 7; C(6,2) = 15.
  // expected = 6·7/15 = 2.8; max = (6+7)/2 = 6.5; ARI = (4 − 2.8)/(6.5 − 2.8) = 1.2/3.7 = 12/37.
  const Labels truth{0, 0, 0, 1, 1, 1}, pred{0, 0, 1, 1, 1, 1};
  EXPECT_NEAR(adjusted_rand_index(truth, pred), 12.0 / 37.0, 1e-12);
  // Symmetric in its arguments, and invariant to renaming and to reordering the points together.
  EXPECT_NEAR(adjusted_rand_index(pred, truth), 12.0 / 37.0, 1e-12);
  EXPECT_NEAR(adjusted_rand_index(truth, Labels{9, 9, 4, 4, 4, 4}), 12.0 / 37.0, 1e-12);
  EXPECT_NEAR(adjusted_rand_index(Labels{1, 0, 1, 0, 0, 1}, Labels{1, 0, 1, 1, 0, 1}), 12.0 / 37.0, 1e-12);
}

TEST(AdjustedRandIndex, WorseThanChanceIsNegative) {
  // truth {0,0,1,1}, pred {0,1,0,1}: every n_ij = 1, so Σ C(n_ij,2) = 0; Σ C(a,2) = Σ C(b,2) = 2;
  // C(4,2) = 6; expected = 4/6; max = 2; ARI = (0 − 2/3)/(2 − 2/3) = −1/2.
  EXPECT_NEAR(adjusted_rand_index(Labels{0, 0, 1, 1}, Labels{0, 1, 0, 1}), -0.5, 1e-12);
}

TEST(AdjustedRandIndex, DegenerateCases) {
  // 0/0 cases are identical partitions, defined as 1.
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{3, 3, 3}, Labels{5, 5, 5}), 1.0);  // one cluster each
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{0, 1, 2}, Labels{2, 0, 1}), 1.0);  // all singletons each
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{4}, Labels{1}), 1.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{}, Labels{}), 1.0);
  // One cluster vs singletons is not degenerate: index 0 = expected 0, max = 3/2 → ARI 0.
  EXPECT_DOUBLE_EQ(adjusted_rand_index(Labels{0, 0, 0}, Labels{0, 1, 2}), 0.0);
  EXPECT_THROW(adjusted_rand_index(Labels{0, 1}, Labels{0}), setok::Error);
}

TEST(AdjustedRandIndex, MatchesPairCountingOnRandomLabelings) {
  // The contingency formula against its definition over pairs of points: index = pairs together in
  // both, A = pairs together in the truth, B = together in the prediction, over all C(n,2) pairs.
  at::manual_seed(4);
  for (int trial = 0; trial < 10; ++trial) {
    const int n = 60;
    auto t = at::randint(0, 4, {n}, at::kLong), p = at::randint(0, 6, {n}, at::kLong);
    auto ta = t.accessor<int64_t, 1>(), pa = p.accessor<int64_t, 1>();
    double index = 0, a = 0, b = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        index += ta[i] == ta[j] && pa[i] == pa[j];
        a += ta[i] == ta[j];
        b += pa[i] == pa[j];
      }
    const double total = n * (n - 1) / 2.0, expected = a * b / total;
    EXPECT_NEAR(adjusted_rand_index(t, p), (index - expected) / ((a + b) / 2 - expected), 1e-12);
  }
}

TEST(AdjustedRandIndex, ManyLabelsNeedNoDenseTable) {
  // Every pixel of a 256×256 image its own segment on both sides (65536² cells if dense): the
  // sparse table handles it, and the all-singletons case is the identical-partition 1.
  auto ids = at::arange(256 * 256, at::kLong);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(ids, ids.flip(0)), 1.0);
}

TEST(AdjustedRandIndex, TensorLabelMapsOfAnyShape) {
  auto truth = labels_tensor({0, 0, 0, 1, 1, 1}).view({2, 3});
  auto pred = labels_tensor({0, 0, 1, 1, 1, 1}).to(at::kInt).view({2, 3});
  EXPECT_NEAR(adjusted_rand_index(truth, pred), 12.0 / 37.0, 1e-12);
  EXPECT_THROW(adjusted_rand_index(truth.to(at::kFloat), pred), setok::Error);
}

TEST(ForegroundAri, IgnoresBackgroundPixels) {
  // Background (0) pixels may go to any segment: over the 4 foreground pixels the prediction
  // {1,1,2,2} matches the truth {1,1,2,2} exactly, so FG-ARI = 1 while the full ARI is not.
  const Labels truth{0, 0, 0, 1, 1, 2, 2}, pred{1, 2, 3, 1, 1, 2, 2};
  EXPECT_DOUBLE_EQ(foreground_ari(truth, pred), 1.0);
  EXPECT_LT(adjusted_rand_index(truth, pred), 1.0);
  // Merging the two objects: foreground truth (1,1,2,2) vs pred (1,1,1,1): index = 1+1 = 2,
  // Σ C(a,2) = 2, Σ C(b,2) = 6 = C(4,2), expected = 2·6/6 = 2, max = 4 → FG-ARI = 0.
  EXPECT_NEAR(foreground_ari(truth, Labels{0, 0, 0, 5, 5, 5, 5}), 0.0, 1e-12);
  // Another background id.
  EXPECT_DOUBLE_EQ(foreground_ari(Labels{9, 9, 1, 1, 2, 2}, Labels{1, 1, 1, 1, 2, 2}, /*background=*/9), 1.0);
  // Nothing to segment: undefined, NaN so that a data-set mean can skip it.
  EXPECT_TRUE(std::isnan(foreground_ari(Labels{0, 0}, Labels{0, 1})));
  EXPECT_DOUBLE_EQ(foreground_ari(labels_tensor(truth).view({7, 1}), labels_tensor(pred)), 1.0);
}

TEST(ForegroundAri, BreakdownUndoesSplitsAndMergesSeparately) {
  // Object 1 split over tokens 1 and 2 (main token 1), object 2 whole in token 3.
  const Labels truth{0, 1, 1, 1, 2, 2}, split{0, 1, 1, 2, 3, 3};
  const FgAriBreakdown a = fg_ari_breakdown(truth, split);
  EXPECT_LT(foreground_ari(truth, split), 1.0);
  EXPECT_DOUBLE_EQ(a.whole, 1.0);                              // object 1 back in token 1
  EXPECT_DOUBLE_EQ(a.unshared, foreground_ari(truth, split));  // no token is shared: nothing to undo
  // Objects 1 and 2 whole but sharing token 7: FG-ARI 0; unsharing gives each its own label.
  const Labels merged{0, 7, 7, 7, 7, 7};
  const FgAriBreakdown b = fg_ari_breakdown(truth, merged);
  EXPECT_NEAR(foreground_ari(truth, merged), 0.0, 1e-12);
  EXPECT_NEAR(b.whole, 0.0, 1e-12);  // whole already, still merged
  EXPECT_DOUBLE_EQ(b.unshared, 1.0);
  // Both at once: object 2's stray pixel in token 5 stays stray when only the merge is undone.
  const Labels truth3{0, 1, 1, 1, 2, 2, 2}, both{0, 7, 7, 7, 7, 7, 5};
  const FgAriBreakdown c = fg_ari_breakdown(truth3, both);
  EXPECT_NEAR(c.whole, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.unshared, foreground_ari(truth3, Labels{0, 8, 8, 8, 9, 9, 5}));
  EXPECT_LT(c.unshared, 1.0);
  // Ties go to the smallest label: object 2 half in 4, half in 3 -> main token 3, shared with object 1.
  const FgAriBreakdown d = fg_ari_breakdown(truth, Labels{0, 3, 3, 3, 4, 3});
  EXPECT_NEAR(d.whole, 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(fg_ari_breakdown(Labels{0, 0}, Labels{1, 2}).whole));
  EXPECT_DOUBLE_EQ(fg_ari_breakdown(labels_tensor(truth), labels_tensor(split)).whole, 1.0);
}

TEST(InstanceMiou, MatchedVersusBestOverlap) {
  // Two objects of 2 pixels each; one predicted segment covers both: IoU with each = 2/4 = 0.5.
  // Best overlap lets both use it: (0.5+0.5)/2 = 0.5. A one-to-one matching gives it to one object;
  // the other gets the background segment (IoU 0): (0.5+0)/2 = 0.25.
  const Labels truth{0, 0, 1, 1, 2, 2}, pred{0, 0, 1, 1, 1, 1};
  const auto r = instance_miou(truth, pred);
  EXPECT_EQ(r.instances, 2);
  EXPECT_NEAR(r.best_overlap, 0.5, 1e-12);
  EXPECT_NEAR(r.matched, 0.25, 1e-12);
}

TEST(InstanceMiou, PerfectAndPartialSegmentation) {
  EXPECT_NEAR(instance_miou(Labels{0, 1, 1, 2}, Labels{7, 3, 3, 5}).matched, 1.0, 1e-12);
  // Object 1 = {1,2,3}, predicted {2,3,4} (pixel 4 is background): IoU = 2/4. Object 2 = {5},
  // predicted {5}: 1. Both means (0.5+1)/2 = 0.75.
  const auto r = instance_miou(Labels{0, 1, 1, 1, 0, 2}, Labels{0, 0, 1, 1, 1, 2});
  EXPECT_NEAR(r.matched, 0.75, 1e-12);
  EXPECT_NEAR(r.best_overlap, 0.75, 1e-12);
  // More objects than segments: the unmatched object scores 0. Segments {0..3}: object 1 = {0,1}
  // IoU 0.5, object 2 = {2,3} IoU 0.5; matched = 0.5/2.
  EXPECT_NEAR(instance_miou(Labels{1, 1, 2, 2}, Labels{0, 0, 0, 0}).matched, 0.25, 1e-12);
  const auto none = instance_miou(labels_tensor({0, 0}), labels_tensor({0, 1}));
  EXPECT_EQ(none.instances, 0);
  EXPECT_TRUE(std::isnan(none.matched));
}

TEST(TokenCount, CorrelationAndWithinOne) {
  // tokens {2,4,4,8}, objects {1,2,3,4}: |t − (o+1)| = 0, 1, 0, 3 → 3 of 4 within one.
  // Centred: t − 4.5 = (−2.5, −0.5, −0.5, 3.5), o − 2.5 = (−1.5, −0.5, 0.5, 1.5);
  // Σ dt·do = 3.75+0.25−0.25+5.25 = 9, Σ dt² = 19, Σ do² = 5 → r = 9/√95.
  const auto r = token_count_agreement({2, 4, 4, 8}, {1, 2, 3, 4});
  EXPECT_NEAR(r.pearson, 9.0 / std::sqrt(95.0), 1e-12);
  EXPECT_DOUBLE_EQ(r.within_one, 0.75);
  EXPECT_EQ(r.images, 4);
  EXPECT_NEAR(token_count_agreement({2, 3, 4, 5}, {1, 2, 3, 4}).pearson, 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(token_count_agreement({3, 3, 3}, {1, 2, 3}).pearson));  // constant: undefined
}
