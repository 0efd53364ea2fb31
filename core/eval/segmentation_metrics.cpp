#include "core/eval/segmentation_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "core/eval/hungarian.h"
#include "core/runtime/error.h"

namespace setok::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<int64_t> to_labels(const at::Tensor& t, const char* what) {
  if (at::isFloatingType(t.scalar_type()) || t.is_complex())
    throw Error(std::string(what) + ": labels must be an integer tensor");
  auto flat = t.detach().to(at::kCPU, at::kLong).contiguous().view({-1});
  const int64_t* p = flat.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + flat.numel());
}

// Dense ids 0..K-1 in order of first appearance: label values may be anything (negative, sparse).
// `values[k]` is the label that became id k.
std::vector<int64_t> densify(const std::vector<int64_t>& labels, std::vector<int64_t>& values) {
  std::unordered_map<int64_t, int64_t> id;
  std::vector<int64_t> out(labels.size());
  values.clear();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, added] = id.emplace(labels[i], static_cast<int64_t>(values.size()));
    if (added) values.push_back(labels[i]);
    out[i] = it->second;
  }
  return out;
}

// Contingency table n_ij = #points with truth cluster i and predicted cluster j, kept sparse (only
// non-zero cells): two labelings with thousands of labels each must not need rows × cols memory.
struct Cell {
  int64_t row, col, count;
};
struct Contingency {
  int64_t rows = 0, cols = 0;
  std::vector<Cell> cells;
  std::vector<int64_t> row_sum, col_sum;
  std::vector<int64_t> row_label, col_label;
};

Contingency contingency(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  Contingency c;
  const auto t = densify(truth, c.row_label);
  const auto p = densify(pred, c.col_label);
  c.rows = static_cast<int64_t>(c.row_label.size());
  c.cols = static_cast<int64_t>(c.col_label.size());
  c.row_sum.assign(c.rows, 0);
  c.col_sum.assign(c.cols, 0);
  std::vector<int64_t> keys(t.size());
  for (std::size_t k = 0; k < t.size(); ++k) {
    keys[k] = t[k] * c.cols + p[k];  // < N², no overflow for any image
    ++c.row_sum[t[k]];
    ++c.col_sum[p[k]];
  }
  std::sort(keys.begin(), keys.end());
  for (std::size_t k = 0; k < keys.size();) {
    std::size_t end = k;
    while (end < keys.size() && keys[end] == keys[k]) ++end;
    c.cells.push_back({keys[k] / c.cols, keys[k] % c.cols, static_cast<int64_t>(end - k)});
    k = end;
  }
  return c;
}

// C(x, 2) in double: exact up to x ≈ 9·10⁷ points, far beyond any image.
double pairs(int64_t x) { return 0.5 * static_cast<double>(x) * static_cast<double>(x - 1); }

void check_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) throw Error(std::string(what) + ": the two labelings have different sizes");
}

}  // namespace

double adjusted_rand_index(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  check_same_size(truth.size(), pred.size(), "ARI");
  const auto c = contingency(truth, pred);
  double index = 0, sum_a = 0, sum_b = 0;
  for (const auto& cell : c.cells) index += pairs(cell.count);
  for (int64_t a : c.row_sum) sum_a += pairs(a);
  for (int64_t b : c.col_sum) sum_b += pairs(b);
  const double total = pairs(static_cast<int64_t>(truth.size()));
  // The denominator is 0 exactly when sum_a = sum_b ∈ {0, total}: both labelings are all
  // singletons or both a single cluster (or there are < 2 points), i.e. the partitions agree.
  if (total == 0) return 1.0;
  const double expected = sum_a * sum_b / total;
  const double max_index = 0.5 * (sum_a + sum_b);
  if (max_index - expected == 0) return 1.0;
  return (index - expected) / (max_index - expected);
}

double adjusted_rand_index(const at::Tensor& truth, const at::Tensor& pred) {
  return adjusted_rand_index(to_labels(truth, "ARI"), to_labels(pred, "ARI"));
}

double foreground_ari(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred, int64_t background) {
  check_same_size(truth.size(), pred.size(), "FG-ARI");
  std::vector<int64_t> t, p;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == background) continue;
    t.push_back(truth[i]);
    p.push_back(pred[i]);
  }
  if (t.empty()) return kNaN;
  return adjusted_rand_index(t, p);
}

double foreground_ari(const at::Tensor& truth, const at::Tensor& pred, int64_t background) {
  return foreground_ari(to_labels(truth, "FG-ARI"), to_labels(pred, "FG-ARI"), background);
}

FgAriBreakdown fg_ari_breakdown(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred,
                                int64_t background) {
  check_same_size(truth.size(), pred.size(), "FG-ARI breakdown");
  std::map<int64_t, std::map<int64_t, int64_t>> counts;  // object -> label -> pixels
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (truth[i] != background) ++counts[truth[i]][pred[i]];
  if (counts.empty()) return {kNaN, kNaN};
  // Fresh labels above every predicted one for the objects' own pieces.
  int64_t fresh = 0;
  for (int64_t v : pred) fresh = std::max(fresh, v);
  struct Main {
    int64_t label, own;  // the main token; the object's own label for its pixels in it
  };
  std::map<int64_t, Main> main;
  for (const auto& [object, labels] : counts) {
    int64_t best = 0, most = -1;
    for (const auto& [label, n] : labels)
      if (n > most) most = n, best = label;  // ascending labels: ties keep the smallest
    main[object] = {best, ++fresh};
  }
  std::vector<int64_t> whole(pred), unshared(pred);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == background) continue;
    const Main& m = main.at(truth[i]);
    whole[i] = m.label;
    if (pred[i] == m.label) unshared[i] = m.own;
  }
  return {foreground_ari(truth, whole, background), foreground_ari(truth, unshared, background)};
}

FgAriBreakdown fg_ari_breakdown(const at::Tensor& truth, const at::Tensor& pred, int64_t background) {
  return fg_ari_breakdown(to_labels(truth, "FG-ARI breakdown"), to_labels(pred, "FG-ARI breakdown"), background);
}

InstanceIou instance_miou(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred, int64_t background) {
  check_same_size(truth.size(), pred.size(), "mIoU");
  // Background pixels stay in the table: a segment that spills onto the background loses IoU.
  const auto c = contingency(truth, pred);
  std::vector<int64_t> instance_rows;
  for (int64_t i = 0; i < c.rows; ++i)
    if (c.row_label[i] != background) instance_rows.push_back(i);
  InstanceIou out;
  out.instances = static_cast<int64_t>(instance_rows.size());
  if (out.instances == 0) {
    out.matched = out.best_overlap = kNaN;
    return out;
  }
  // IoU of every instance with every segment; zero-overlap pairs stay 0.
  std::vector<int64_t> instance_of_row(c.rows, -1);
  for (std::size_t g = 0; g < instance_rows.size(); ++g) instance_of_row[instance_rows[g]] = static_cast<int64_t>(g);
  std::vector<std::vector<double>> iou(instance_rows.size(), std::vector<double>(c.cols, 0.0));
  for (const auto& cell : c.cells) {
    const int64_t g = instance_of_row[cell.row];
    if (g < 0) continue;
    const auto inter = static_cast<double>(cell.count);
    iou[g][cell.col] = inter / (static_cast<double>(c.row_sum[cell.row] + c.col_sum[cell.col]) - inter);
  }
  double best_sum = 0;
  for (const auto& row : iou) best_sum += *std::max_element(row.begin(), row.end());
  out.best_overlap = best_sum / static_cast<double>(out.instances);
  std::vector<std::vector<double>> cost(iou.size(), std::vector<double>(c.cols));
  for (std::size_t g = 0; g < iou.size(); ++g)
    for (int64_t j = 0; j < c.cols; ++j) cost[g][j] = -iou[g][j];
  const auto match = hungarian_assignment(cost);
  double matched_sum = 0;
  for (std::size_t g = 0; g < match.size(); ++g)
    if (match[g] >= 0) matched_sum += iou[g][match[g]];
  out.matched = matched_sum / static_cast<double>(out.instances);
  return out;
}

InstanceIou instance_miou(const at::Tensor& truth, const at::Tensor& pred, int64_t background) {
  return instance_miou(to_labels(truth, "mIoU"), to_labels(pred, "mIoU"), background);
}

TokenCountAgreement token_count_agreement(const std::vector<int64_t>& tokens, const std::vector<int64_t>& objects) {
  check_same_size(tokens.size(), objects.size(), "token count");
  TokenCountAgreement out;
  out.images = static_cast<int64_t>(tokens.size());
  if (out.images == 0) {
    out.pearson = out.within_one = kNaN;
    return out;
  }
  const double n = static_cast<double>(out.images);
  double mt = 0, mo = 0;
  int64_t close = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    mt += static_cast<double>(tokens[i]);
    mo += static_cast<double>(objects[i]);
    if (std::llabs(tokens[i] - (objects[i] + 1)) <= 1) ++close;
  }
  mt /= n;
  mo /= n;
  double stt = 0, soo = 0, sto = 0;  // centred sums: no cancellation from E[x²] − E[x]²
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const double dt = static_cast<double>(tokens[i]) - mt, d_o = static_cast<double>(objects[i]) - mo;
    stt += dt * dt;
    soo += d_o * d_o;
    sto += dt * d_o;
  }
  out.pearson = (stt == 0 || soo == 0) ? kNaN : sto / std::sqrt(stt * soo);
  out.within_one = static_cast<double>(close) / n;
  return out;
}

}  // namespace setok::eval
