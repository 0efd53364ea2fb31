#include "core/eval/probe_metrics.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/runtime/error.h"

namespace setok::eval {

std::vector<double> linear_probe_r2(const at::Tensor& x_fit, const at::Tensor& y_fit, const at::Tensor& x_held,
                                    const at::Tensor& y_held, double ridge) {
  if (x_fit.dim() != 2 || y_fit.dim() != 2 || x_held.dim() != 2 || y_held.dim() != 2)
    throw Error("linear probe: features and targets must be [rows, columns]");
  if (x_fit.size(0) != y_fit.size(0) || x_held.size(0) != y_held.size(0) || x_fit.size(1) != x_held.size(1) ||
      y_fit.size(1) != y_held.size(1))
    throw Error("linear probe: fitting and held-out rows, features and targets do not match");
  if (x_fit.size(0) < 2 || x_held.size(0) < 2) throw Error("linear probe: needs at least two rows on each side");
  if (ridge < 0) throw Error("linear probe: the ridge must not be negative");
  auto xf = x_fit.detach().to(at::kCPU, at::kDouble), yf = y_fit.detach().to(at::kCPU, at::kDouble);
  auto xh = x_held.detach().to(at::kCPU, at::kDouble), yh = y_held.detach().to(at::kCPU, at::kDouble);
  auto mean = xf.mean(0, true), dev = xf.std(0, /*unbiased=*/false, true);
  dev = at::where(dev > 1e-12, dev, at::ones_like(dev));
  xf = (xf - mean) / dev;
  xh = (xh - mean) / dev;
  auto ymean = yf.mean(0, true);
  const int64_t n = xf.size(0), d = xf.size(1);
  auto gram = at::matmul(xf.t(), xf) + at::eye(d, xf.options()) * (ridge * static_cast<double>(n));
  auto w = at::linalg_solve(gram, at::matmul(xf.t(), yf - ymean));
  auto pred = at::matmul(xh, w) + ymean;
  auto sse = (yh - pred).pow(2).sum(0), sst = (yh - yh.mean(0, true)).pow(2).sum(0);
  std::vector<double> r2;
  for (int64_t t = 0; t < yh.size(1); ++t) {
    const double total = sst[t].item<double>();
    r2.push_back(total > 1e-18 ? 1.0 - sse[t].item<double>() / total : std::numeric_limits<double>::quiet_NaN());
  }
  return r2;
}

at::Tensor token_place(const at::Tensor& assignment, int64_t h, int64_t w, int64_t tokens) {
  if (assignment.dim() != 1 || assignment.size(0) != h * w) throw Error("token place: the assignment must be [h·w]");
  auto a = assignment.detach().to(at::kCPU, at::kLong);
  const auto f = at::TensorOptions().dtype(at::kDouble);
  auto xs = ((at::arange(w, f) + 0.5) / static_cast<double>(w)).repeat({h});
  auto ys = ((at::arange(h, f) + 0.5) / static_cast<double>(h)).repeat_interleave(w);
  auto one_hot = at::zeros({h * w, tokens}, f);
  auto in_range = at::logical_and(a >= 0, a < tokens);
  one_hot.index_put_({at::arange(h * w).masked_select(in_range), a.masked_select(in_range)}, at::ones({1}, f));
  auto mass = one_hot.sum(0);  // [C]
  auto safe = mass.clamp_min(1.0);
  auto cx = at::matmul(xs, one_hot) / safe, cy = at::matmul(ys, one_hot) / safe;
  auto vx = at::matmul(xs * xs, one_hot) / safe - cx * cx, vy = at::matmul(ys * ys, one_hot) / safe - cy * cy;
  auto g = at::stack({cx, cy, vx.clamp_min(0).sqrt(), vy.clamp_min(0).sqrt()}, 1);
  return g.masked_fill((mass == 0).unsqueeze(1), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace setok::eval
