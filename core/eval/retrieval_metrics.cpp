#include "core/eval/retrieval_metrics.h"

#include <ATen/ATen.h>

#include <limits>

#include "core/runtime/error.h"

namespace setok::eval {

std::vector<int64_t> top1_predictions(const at::Tensor& scores) {
  if (scores.dim() != 2 || scores.size(1) == 0) throw Error("top-1: scores must be [M,K] with K ≥ 1");
  // An explicit scan rather than at::argmax: its tie rule is documented only for recent releases
  // and its NaN rule (NaN wins) would let one broken score decide a row.
  auto s = scores.detach().to(at::kCPU, at::kDouble).contiguous();
  const int64_t m = s.size(0), k = s.size(1);
  const double* p = s.data_ptr<double>();
  std::vector<int64_t> out(m, 0);
  for (int64_t i = 0; i < m; ++i) {
    double best = -std::numeric_limits<double>::infinity();
    bool found = false;
    for (int64_t j = 0; j < k; ++j) {
      const double v = p[i * k + j];
      if (v > best || (!found && v == best)) {  // strict >: the first of equal maxima stays
        best = v;
        out[i] = j;
        found = true;
      }
    }
  }
  return out;
}

double top1_accuracy(const at::Tensor& scores, const at::Tensor& labels) {
  const auto pred = top1_predictions(scores);
  if (labels.dim() != 1 || labels.size(0) != static_cast<int64_t>(pred.size()))
    throw Error("top-1: labels must be [M], one per row of scores");
  if (at::isFloatingType(labels.scalar_type())) throw Error("top-1: labels must be integer class ids");
  if (pred.empty()) return std::numeric_limits<double>::quiet_NaN();
  auto l = labels.detach().to(at::kCPU, at::kLong).contiguous();
  const int64_t* lp = l.data_ptr<int64_t>();
  int64_t correct = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) correct += pred[i] == lp[i];
  return static_cast<double>(correct) / static_cast<double>(pred.size());
}

}  // namespace setok::eval
