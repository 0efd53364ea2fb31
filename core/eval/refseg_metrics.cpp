#include "core/eval/refseg_metrics.h"

#include <cmath>
#include <limits>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(std::int64_t a, std::int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 1.0; }

}  // namespace

double MaskOverlap::iou() const { return ratio(intersection, union_area); }

MaskOverlap mask_overlap(const std::vector<std::uint8_t>& pred, const std::vector<std::uint8_t>& truth) {
  if (pred.size() != truth.size())
    throw Error("mask overlap: the prediction has " + std::to_string(pred.size()) + " pixels, the truth " +
                std::to_string(truth.size()));
  MaskOverlap o;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const bool p = pred[i] != 0, t = truth[i] != 0;
    o.intersection += p && t;
    o.union_area += p || t;
  }
  return o;
}

void ReferringAccumulator::add(const MaskOverlap& overlap, const std::vector<std::string>& kinds) {
  auto add_to = [&](Sums& s) {
    s.intersection += overlap.intersection;
    s.union_area += overlap.union_area;
    s.iou_sum += overlap.iou();
    ++s.count;
  };
  add_to(sums_["all"]);
  for (const std::string& k : kinds)
    if (k != "all") add_to(sums_[k]);
}

ReferringScores ReferringAccumulator::finish(const Sums& s) {
  if (s.count == 0) return {kNaN, kNaN, 0};
  return {ratio(s.intersection, s.union_area), s.iou_sum / static_cast<double>(s.count), s.count};
}

std::map<std::string, ReferringScores> ReferringAccumulator::scores() const {
  std::map<std::string, ReferringScores> out;
  out["all"] = finish({});
  for (const auto& [kind, s] : sums_) out[kind] = finish(s);
  return out;
}

ReferringScores ReferringAccumulator::scores(const std::string& kind) const {
  const auto it = sums_.find(kind);
  return finish(it == sums_.end() ? Sums{} : it->second);
}

ClickCurveAccumulator::ClickCurveAccumulator(int max_clicks) : max_clicks_(max_clicks) {
  if (max_clicks < 1) throw Error("click curve: max clicks must be at least 1, not " + std::to_string(max_clicks));
}

void ClickCurveAccumulator::add(const std::vector<double>& ious) {
  if (ious.empty()) throw Error("click curve: an object needs the IoU after at least one click");
  if (ious.size() > static_cast<std::size_t>(max_clicks_))
    throw Error("click curve: " + std::to_string(ious.size()) + " clicks given, at most " +
                std::to_string(max_clicks_));
  std::vector<double> curve = ious;
  curve.resize(static_cast<std::size_t>(max_clicks_), ious.back());
  curves_.push_back(std::move(curve));
}

double ClickCurveAccumulator::mean_iou_after(int k) const {
  if (k < 1 || k > max_clicks_)
    throw Error("click curve: click " + std::to_string(k) + " is outside 1.." + std::to_string(max_clicks_));
  if (curves_.empty()) return kNaN;
  double sum = 0;
  for (const auto& c : curves_) sum += c[static_cast<std::size_t>(k - 1)];
  return sum / static_cast<double>(curves_.size());
}

std::vector<double> ClickCurveAccumulator::mean_curve() const {
  std::vector<double> out;
  for (int k = 1; k <= max_clicks_; ++k) out.push_back(mean_iou_after(k));
  return out;
}

double ClickCurveAccumulator::noc(double threshold) const {
  if (curves_.empty()) return kNaN;
  double sum = 0;
  for (const auto& c : curves_) {
    int clicks = max_clicks_;  // never reached: counts the cap, as RITM's _get_noc does
    for (int k = 0; k < max_clicks_; ++k)
      if (c[static_cast<std::size_t>(k)] >= threshold) {
        clicks = k + 1;
        break;
      }
    sum += clicks;
  }
  return sum / static_cast<double>(curves_.size());
}

double ClickCurveAccumulator::never_reached(double threshold) const {
  if (curves_.empty()) return kNaN;
  std::int64_t never = 0;
  for (const auto& c : curves_) {
    bool reached = false;
    for (double v : c) reached = reached || v >= threshold;
    never += !reached;
  }
  return static_cast<double>(never) / static_cast<double>(curves_.size());
}

BestToken best_token(const std::vector<std::int32_t>& token_map, const std::vector<std::uint8_t>& truth) {
  if (token_map.size() != truth.size())
    throw Error("best token: the token map has " + std::to_string(token_map.size()) + " pixels, the truth " +
                std::to_string(truth.size()));
  std::vector<std::int64_t> area, inside;
  std::int64_t truth_area = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    truth_area += truth[i] != 0;
    const std::int32_t t = token_map[i];
    if (t < 0) continue;
    if (static_cast<std::size_t>(t) >= area.size()) {
      area.resize(static_cast<std::size_t>(t) + 1);
      inside.resize(static_cast<std::size_t>(t) + 1);
    }
    ++area[t];
    inside[t] += truth[i] != 0;
  }
  BestToken best;
  for (std::size_t t = 0; t < area.size(); ++t) {
    if (inside[t] == 0) continue;
    const double iou = static_cast<double>(inside[t]) / static_cast<double>(area[t] + truth_area - inside[t]);
    if (iou > best.iou) best = {static_cast<int>(t), iou};
  }
  return best;
}

}  // namespace setok::eval
