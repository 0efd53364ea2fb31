#pragma once
// Referring and click-to-segment scores as the field computes them.
// Referring expressions (LISA, Lai et al. 2024): cIoU = Σ intersection / Σ union over the set (large
// objects weigh more), gIoU = the mean of per-expression IoUs (an empty prediction of an empty
// truth counts 1). Clicks (RITM's protocol): the IoU after each click k = 1..max; mIoU@k, NoC@t
// (the first click with IoU ≥ t, `max` when never reached) and how many objects never reach 0.90.
// Masks are 0/1 (nonzero = inside), row-major. Torch-free.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace setok::eval {

struct MaskOverlap {
  std::int64_t intersection = 0, union_area = 0;
  double iou() const;  // 1 when both masks are empty
};

// Throws setok::Error when the masks differ in size.
MaskOverlap mask_overlap(const std::vector<std::uint8_t>& pred, const std::vector<std::uint8_t>& truth);

struct ReferringScores {
  double ciou = 0, giou = 0;  // NaN with no expression
  std::int64_t count = 0;
};

// Adds expressions one at a time, each to "all" and to the kinds it belongs to.
class ReferringAccumulator {
 public:
  void add(const MaskOverlap& overlap, const std::vector<std::string>& kinds = {});
  // Every kind seen, and "all" (always there, count 0 before the first add).
  std::map<std::string, ReferringScores> scores() const;
  ReferringScores scores(const std::string& kind) const;  // count 0 and NaNs for a kind never seen

 private:
  struct Sums {
    std::int64_t intersection = 0, union_area = 0, count = 0;
    double iou_sum = 0;
  };
  static ReferringScores finish(const Sums& s);
  std::map<std::string, Sums> sums_;
};

class ClickCurveAccumulator {
 public:
  // Throws setok::Error for max_clicks < 1.
  explicit ClickCurveAccumulator(int max_clicks = 20);
  // One object's IoU after clicks 1, 2, …: at least one and at most max_clicks values; a shorter
  // list carries its last value to max_clicks (the protocol stops once the mask is exact).
  void add(const std::vector<double>& ious);

  int max_clicks() const { return max_clicks_; }
  std::int64_t objects() const { return static_cast<std::int64_t>(curves_.size()); }
  double mean_iou_after(int k) const;  // k in 1..max_clicks; NaN with no objects
  std::vector<double> mean_curve() const;
  // The mean number of clicks to reach IoU ≥ threshold, an object that never does counting max.
  double noc(double threshold) const;
  double never_reached(double threshold) const;  // fraction of objects that never reach it

 private:
  int max_clicks_;
  std::vector<std::vector<double>> curves_;
};

// The single token of a per-pixel token map whose mask has the highest IoU with `truth` (ties: the
// lowest index): what selecting one token could reach. Negative indices are no token. Token -1
// and IoU 0 when no token overlaps the truth (an empty truth included). Throws setok::Error when the sizes differ.
struct BestToken {
  int token = -1;
  double iou = 0;
};
BestToken best_token(const std::vector<std::int32_t>& token_map, const std::vector<std::uint8_t>& truth);

}  // namespace setok::eval
