// core/eval: every metric on small cases whose answers are worked out by hand in the comments.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/data/vocabulary.h"
#include "core/eval/caption_metrics.h"
#include "core/eval/hungarian.h"
#include "core/eval/image_metrics.h"
#include "core/eval/pope_metrics.h"
#include "core/eval/probe_metrics.h"
#include "core/eval/retrieval_metrics.h"
#include "core/eval/segmentation_metrics.h"
#include "core/eval/vqa_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

namespace {
using Labels = std::vector<int64_t>;
at::Tensor labels_tensor(const Labels& v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong); }
}  // namespace

// ---- Adjusted Rand Index ----------------------------------------------------------------------

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

// ---- Hungarian matching and instance mIoU -----------------------------------------------------

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

// ---- Image metrics ----------------------------------------------------------------------------

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

// ---- Zero-shot top-1 --------------------------------------------------------------------------

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

// ---- CIDEr-D ----------------------------------------------------------------------------------

TEST(CiderD, TokenizationLowercasesAndDropsPunctuation) {
  EXPECT_EQ(tokenize_caption("A dog's toy."), (std::vector<std::string>{"a", "dog", "s", "toy"}));
  EXPECT_EQ(tokenize_caption("  Red,  BLUE!\tgreen "), (std::vector<std::string>{"red", "blue", "green"}));
  EXPECT_TRUE(tokenize_caption("...").empty());
}

TEST(CiderD, OneImageCorpusScoresZero) {
  // With one image every n-gram has df = 1 and idf = log(#images) − log(df) = log 1 − log 1 = 0:
  // all TF-IDF vectors are 0, each cosine is defined as 0, so even a perfect caption scores 0.
  // CIDEr is a corpus-level metric; it says nothing about one image alone.
  const auto r = cider_d({"a red cube"}, {{"a red cube"}});
  EXPECT_DOUBLE_EQ(r.per_image.at(0), 0.0);
  EXPECT_DOUBLE_EQ(r.corpus, 0.0);
}

TEST(CiderD, TwoImageCorpusWithKnownCounts) {
  // Images A (ref "a cat") and B (ref "a dog"), L = log 2. df: "a" 2; "cat", "dog", "a cat",
  // "a dog" 1 each. idf = log 2 − log df: "a" → 0, every other n-gram → L.
  // Candidate = reference for A: order 1 vector {a: 0, cat: L}, norm L; order 2 {a cat: L}, norm L.
  // Cosines: order 1 = L·L/(L·L) = 1, order 2 = 1, orders 3–4 have no n-grams → 0. Same length →
  // penalty 1. Score = 10 · (1 + 1 + 0 + 0)/4 = 5, and the same for B.
  const auto r = cider_d({"a cat", "A dog."}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 5.0, 1e-12);
  EXPECT_NEAR(r.per_image.at(1), 5.0, 1e-12);
  EXPECT_NEAR(r.corpus, 5.0, 1e-12);
  // Swapped candidates share only "a", whose weight is 0: both score 0.
  EXPECT_NEAR(cider_d({"a dog", "a cat"}, {{"a cat"}, {"a dog"}}).corpus, 0.0, 1e-12);
}

TEST(CiderD, RepeatedWordsAreClipped) {
  // Corpus as above; candidate for A "cat cat". Order 1: candidate {cat: 2L}, norm 2L; reference
  // {a: 0, cat: L}, norm L. Clipped dot product: min(2L, L)·L = L² → cosine L²/(2L·L) = 1/2
  // (unclipped it would be 2L·L/(2L·L) = 1). Order 2: "cat cat" (df 0 → taken as 1, weight L) is
  // not in the reference → 0. Equal lengths. Score = 10 · (1/2)/4 = 1.25.
  const auto r = cider_d({"cat cat", "a dog"}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 1.25, 1e-12);
}

TEST(CiderD, GaussianLengthPenalty) {
  // Candidate "cat" for A: order 1 {cat: L} vs {a: 0, cat: L}: cosine 1; no bigrams → 0.
  // Lengths 1 vs 2: penalty exp(−1/(2·6²)) = exp(−1/72). Score = 10 · exp(−1/72)/4.
  const auto r = cider_d({"cat", "a dog"}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 2.5 * std::exp(-1.0 / 72.0), 1e-12);
  // A wider σ penalises less.
  EXPECT_NEAR(cider_d({"cat", "a dog"}, {{"a cat"}, {"a dog"}}, CiderOptions{4, 1.0}).per_image.at(0),
              2.5 * std::exp(-0.5), 1e-12);
}

TEST(CiderD, AveragedOverReferences) {
  // A has refs "a cat" and "the cat", B has "a dog". df counts images: "a" 2 (A and B), every other
  // n-gram 1, so "a" weighs 0 and the rest L. Candidate "a cat":
  //   vs "a cat": orders 1, 2 cosine 1 (as above).
  //   vs "the cat": order 1 ref {the: L, cat: L}, norm √2·L; dot = L·L → 1/√2; order 2 no overlap.
  // Sum over refs and orders = 1 + 1 + 1/√2; mean over 4 orders and 2 refs, ×10:
  // 10·(2 + 1/√2)/8.
  const auto r = cider_d({"a cat", "a dog"}, {{"a cat", "the cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 10.0 * (2.0 + 1.0 / std::sqrt(2.0)) / 8.0, 1e-12);
}

TEST(CiderD, PermutingImagesPermutesScores) {
  const std::vector<std::string> cands{"a red cube on the left", "two blue balls", "a green shirt", "red cube"};
  const std::vector<std::vector<std::string>> refs{{"a red cube on the left", "a small red cube"},
                                                   {"two blue spheres", "blue balls"},
                                                   {"a green shirt on a gradient"},
                                                   {"a red cube and a blue ball"}};
  const auto r = cider_d(cands, refs);
  const std::vector<int> perm{2, 0, 3, 1};
  std::vector<std::string> pc;
  std::vector<std::vector<std::string>> pr;
  for (int i : perm) {
    pc.push_back(cands[i]);
    pr.push_back(refs[i]);
  }
  const auto q = cider_d(pc, pr);
  for (std::size_t k = 0; k < perm.size(); ++k) EXPECT_NEAR(q.per_image[k], r.per_image[perm[k]], 1e-12);
  EXPECT_NEAR(q.corpus, r.corpus, 1e-12);
  EXPECT_GT(r.per_image[0], r.per_image[3]);  // the exact caption beats the partial one
  EXPECT_THROW(cider_d({"x"}, {{}}), setok::Error);
}

// ---- VQA and POPE -----------------------------------------------------------------------------

TEST(Vqa, AnswerNormalisation) {
  EXPECT_EQ(normalize_answer("Two dogs."), "2 dogs");
  EXPECT_EQ(normalize_answer("The RED cube"), "red cube");
  EXPECT_EQ(normalize_answer("an  apple"), "apple");
  EXPECT_EQ(normalize_answer("none"), "0");
  EXPECT_EQ(normalize_answer("1,000"), "1000");
  EXPECT_EQ(normalize_answer("2.5"), "2.5");
  EXPECT_EQ(normalize_answer("yes."), "yes");
  EXPECT_EQ(normalize_answer("red/blue"), "red blue");
  EXPECT_EQ(normalize_answer("don't"), "dont");
  EXPECT_EQ(normalize_answer("Theater"), "theater");  // "the" only as a whole word
  EXPECT_EQ(normalize_answer(" . "), "");
}

TEST(Vqa, ExactMatchPerQuestionType) {
  const std::vector<VqaSample> samples{{"count", "two", {"2"}},
                                       {"count", "3", {"4"}},
                                       {"colour", "Red.", {"red"}},
                                       {"exists", "yes", {"no"}},
                                       {"shape", "a cube", {"sphere", "cube"}}};
  const auto acc = vqa_accuracy(samples);
  EXPECT_EQ(acc.overall.correct, 3);
  EXPECT_EQ(acc.overall.total, 5);
  EXPECT_DOUBLE_EQ(acc.overall.accuracy(), 0.6);
  EXPECT_DOUBLE_EQ(acc.by_type.at("count").accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(acc.by_type.at("colour").accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(acc.by_type.at("exists").accuracy(), 0.0);
  EXPECT_DOUBLE_EQ(acc.by_type.at("shape").accuracy(), 1.0);
}

TEST(Pope, ReadsYesNoAnswers) {
  EXPECT_TRUE(answer_is_yes("Yes, there is a cat."));
  EXPECT_TRUE(answer_is_yes("I see one."));
  EXPECT_FALSE(answer_is_yes("No."));
  EXPECT_FALSE(answer_is_yes("There is not a dog"));
  EXPECT_FALSE(answer_is_yes("There isn't a dog."));
  EXPECT_TRUE(answer_is_yes("Nothing else, it is a note"));  // "no" only as a whole word
}

TEST(Pope, AsksAboutAnObjectInTheWordsOfASentence) {
  // The scenes world's categories carry Fashion-MNIST's labels; the question uses the world's nouns.
  EXPECT_EQ(pope_question(setok::data::category_noun("Ankle boot")),
            "Is there an ankle boot in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("T-shirt/top")),
            "Is there a t-shirt in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("Trouser")),
            "Is there a pair of trousers in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("hexagon")),
            "Is there a hexagon in the image? Answer with yes or no.");
  // A name from another dataset is asked about as it is, with its article.
  EXPECT_EQ(pope_question(setok::data::category_noun("umbrella")),
            "Is there an umbrella in the image? Answer with yes or no.");
  // Other wordings, to see how the answers depend on the phrasing.
  EXPECT_EQ(pope_question("ankle boot", "Do you see {a} {object}? ({object}!)"),
            "Do you see an ankle boot? (ankle boot!)");
  EXPECT_EQ(pope_question("{a}", "Is there {a} {object}?"), "Is there a {a}?");  // a name is not re-read
  EXPECT_THROW(pope_question("star", "Is there a star?"), setok::Error);
}

TEST(Pope, ConfusionMatrixScores) {
  // yes/present: (Y,P) (Y,A) (N,A) (N,P) (Y,P) → tp 2, fp 1, tn 1, fn 1.
  // accuracy 3/5; precision 2/3; recall 2/3; F1 2/3; yes ratio 3/5.
  const auto s = pope_scores_from_answers({"Yes", "yes.", "No", "no, not at all", "Yes there is"},
                                          {true, false, false, true, true});
  EXPECT_EQ(s.tp, 2);
  EXPECT_EQ(s.fp, 1);
  EXPECT_EQ(s.tn, 1);
  EXPECT_EQ(s.fn, 1);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.6);
  EXPECT_NEAR(s.precision, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.recall, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.f1, 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(s.yes_ratio, 0.6);
  // A model that never says yes: precision and F1 are 0 by definition, not NaN.
  const auto never = pope_scores({false, false}, {true, false});
  EXPECT_DOUBLE_EQ(never.precision, 0.0);
  EXPECT_DOUBLE_EQ(never.f1, 0.0);
  EXPECT_DOUBLE_EQ(never.accuracy, 0.5);
}

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
