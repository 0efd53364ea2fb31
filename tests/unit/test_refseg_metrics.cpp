// core/eval/refseg_metrics.h: cIoU and gIoU as LISA computes them, the click curve's mIoU@k and
// NoC as RITM does, and the best single token.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/eval/refseg_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(RefsegMetrics, CountsIntersectionAndUnion) {
  const std::vector<std::uint8_t> pred = {1, 1, 0, 0, 1}, truth = {0, 1, 1, 0, 2};  // nonzero = inside
  const MaskOverlap o = mask_overlap(pred, truth);
  EXPECT_EQ(o.intersection, 2);
  EXPECT_EQ(o.union_area, 4);
  EXPECT_DOUBLE_EQ(o.iou(), 0.5);
  EXPECT_DOUBLE_EQ(mask_overlap({0, 0}, {0, 0}).iou(), 1.0);  // empty for empty is right
  EXPECT_DOUBLE_EQ(mask_overlap({1, 0}, {0, 0}).iou(), 0.0);
  EXPECT_THROW(mask_overlap({1, 0}, {1}), setok::Error);
}

TEST(RefsegMetrics, CIouFavoursLargeObjectsGIouDoesNot) {
  // A large object found exactly and a small one missed altogether.
  ReferringAccumulator acc;
  acc.add({100, 100});
  acc.add({0, 4});
  const ReferringScores s = acc.scores("all");
  EXPECT_EQ(s.count, 2);
  EXPECT_DOUBLE_EQ(s.ciou, 100.0 / 104.0);  // Σ I / Σ U
  EXPECT_DOUBLE_EQ(s.giou, 0.5);            // mean of 1 and 0
  // The other way round, a small object found and a large one missed: cIoU falls, gIoU does not.
  ReferringAccumulator flip;
  flip.add({4, 4});
  flip.add({0, 100});
  EXPECT_DOUBLE_EQ(flip.scores("all").ciou, 4.0 / 104.0);
  EXPECT_DOUBLE_EQ(flip.scores("all").giou, 0.5);
}

TEST(RefsegMetrics, AnEmptyPredictionOfAnEmptyTruthCountsOne) {
  ReferringAccumulator acc;
  acc.add({1, 2});
  acc.add({0, 0});
  EXPECT_DOUBLE_EQ(acc.scores("all").giou, 0.75);
  EXPECT_DOUBLE_EQ(acc.scores("all").ciou, 0.5);  // adds nothing to either sum
  ReferringAccumulator only_empty;
  only_empty.add({0, 0});
  EXPECT_DOUBLE_EQ(only_empty.scores("all").ciou, 1.0);
  EXPECT_DOUBLE_EQ(only_empty.scores("all").giou, 1.0);
}

TEST(RefsegMetrics, SplitsByKindAndKeepsAllOverall) {
  ReferringAccumulator acc;
  EXPECT_EQ(acc.scores().count("all"), 1u);  // there before the first expression
  EXPECT_TRUE(std::isnan(acc.scores("all").giou));
  acc.add({1, 1}, {"shortest", "full"});
  acc.add({0, 1}, {"with_region"});
  acc.add({1, 2});
  const auto s = acc.scores();
  EXPECT_EQ(s.at("all").count, 3);
  EXPECT_DOUBLE_EQ(s.at("all").giou, 0.5);
  EXPECT_DOUBLE_EQ(s.at("shortest").giou, 1.0);
  EXPECT_DOUBLE_EQ(s.at("full").giou, 1.0);
  EXPECT_DOUBLE_EQ(s.at("with_region").giou, 0.0);
  EXPECT_EQ(acc.scores("position").count, 0);
  EXPECT_TRUE(std::isnan(acc.scores("position").ciou));
}

TEST(RefsegMetrics, NumberOfClicksIsCappedAtTheMaximum) {
  ClickCurveAccumulator curve(5);
  curve.add({0.5, 0.8, 0.86, 0.95});  // carried to click 5 at 0.95
  curve.add({0.1});                   // never gets better
  EXPECT_EQ(curve.objects(), 2);
  EXPECT_DOUBLE_EQ(curve.noc(0.85), (3.0 + 5.0) / 2);
  EXPECT_DOUBLE_EQ(curve.noc(0.90), (4.0 + 5.0) / 2);
  EXPECT_DOUBLE_EQ(curve.noc(0.95), (4.0 + 5.0) / 2);  // reaching the threshold exactly counts
  EXPECT_DOUBLE_EQ(curve.never_reached(0.90), 0.5);
  EXPECT_DOUBLE_EQ(curve.mean_iou_after(1), 0.3);
  EXPECT_DOUBLE_EQ(curve.mean_iou_after(3), (0.86 + 0.1) / 2);
  EXPECT_DOUBLE_EQ(curve.mean_iou_after(5), (0.95 + 0.1) / 2);
  EXPECT_EQ(curve.mean_curve().size(), 5u);
  // An object at the threshold from the first click needs one.
  ClickCurveAccumulator one(20);
  one.add({0.9});
  EXPECT_DOUBLE_EQ(one.noc(0.90), 1.0);
  EXPECT_DOUBLE_EQ(one.never_reached(0.90), 0.0);
}

TEST(RefsegMetrics, ClickCurveRefusesWhatItCannotScore) {
  EXPECT_THROW(ClickCurveAccumulator(0), setok::Error);
  ClickCurveAccumulator curve(3);
  EXPECT_TRUE(std::isnan(curve.noc(0.9)));
  EXPECT_TRUE(std::isnan(curve.mean_iou_after(1)));
  EXPECT_THROW(curve.add({}), setok::Error);
  EXPECT_THROW(curve.add({0.1, 0.2, 0.3, 0.4}), setok::Error);
  EXPECT_THROW(curve.mean_iou_after(4), setok::Error);
}

TEST(RefsegMetrics, BestTokenIsTheOneWithTheHighestIou) {
  // Tokens 0, 1, 2 over eight pixels; -1 is no token. The truth is token 1 and half of token 2.
  const std::vector<std::int32_t> map = {0, 0, 1, 1, 1, 2, 2, -1};
  const std::vector<std::uint8_t> truth = {0, 0, 1, 1, 1, 1, 0, 0};
  const BestToken b = best_token(map, truth);
  EXPECT_EQ(b.token, 1);
  EXPECT_DOUBLE_EQ(b.iou, 3.0 / 4.0);
  EXPECT_EQ(best_token(map, std::vector<std::uint8_t>(8, 0)).token, -1);
  EXPECT_THROW(best_token(map, std::vector<std::uint8_t>(7, 0)), setok::Error);
}
