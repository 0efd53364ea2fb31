#include "core/eval/image_metrics.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

constexpr int64_t kWindow = 11;
constexpr double kSigma = 1.5, kK1 = 0.01, kK2 = 0.03;

// Both inputs as float64 [B,C,H,W]; a lone [C,H,W] image becomes a batch of one.
std::pair<at::Tensor, at::Tensor> prepare(const at::Tensor& x, const at::Tensor& y, const char* what) {
  if (!x.sizes().equals(y.sizes())) throw Error(std::string(what) + ": the two image batches have different shapes");
  if (x.dim() != 3 && x.dim() != 4) throw Error(std::string(what) + ": images must be [B,C,H,W] or [C,H,W]");
  auto a = x.detach().to(at::kDouble), b = y.detach().to(a.device(), at::kDouble);
  if (a.dim() == 3) {
    a = a.unsqueeze(0);
    b = b.unsqueeze(0);
  }
  return {a, b};
}

// Normalised 1-D Gaussian; the 2-D window is its outer product, applied as two 1-D passes.
at::Tensor gaussian_1d(const at::TensorOptions& opt) {
  auto k = at::arange(kWindow, opt) - static_cast<double>(kWindow / 2);
  auto g = at::exp(-(k * k) / (2 * kSigma * kSigma));
  return g / g.sum();
}

// Per-channel Gaussian filtering with no padding ("valid"), as Wang et al.'s reference code does:
// padded borders would compare made-up pixels.
at::Tensor filter(const at::Tensor& x, const at::Tensor& g) {
  const int64_t c = x.size(1);
  auto gh = g.view({1, 1, 1, kWindow}).expand({c, 1, 1, kWindow}).contiguous();
  auto gv = g.view({1, 1, kWindow, 1}).expand({c, 1, kWindow, 1}).contiguous();
  // Named arrays, not literals: LibTorch 2.x adds a string padding overload that a bare 0 would make ambiguous.
  const int64_t ones[] = {1, 1}, zeros[] = {0, 0};
  const at::IntArrayRef stride(ones), padding(zeros), dilation(ones);
  auto h = at::conv2d(x, gh, /*bias=*/{}, stride, padding, dilation, /*groups=*/c);
  return at::conv2d(h, gv, /*bias=*/{}, stride, padding, dilation, /*groups=*/c);
}

}  // namespace

at::Tensor psnr(const at::Tensor& x, const at::Tensor& y, double data_range) {
  at::NoGradGuard no_grad;
  auto [a, b] = prepare(x, y, "PSNR");
  auto mse = (a - b).pow(2).flatten(1).mean(1);
  return 10.0 * at::log10(data_range * data_range / mse);  // mse = 0 gives +inf, as it should
}

at::Tensor l1_error(const at::Tensor& x, const at::Tensor& y) {
  at::NoGradGuard no_grad;
  auto [a, b] = prepare(x, y, "L1");
  return (a - b).abs().flatten(1).mean(1);
}

at::Tensor pixel_spread(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  if (x.dim() != 3 && x.dim() != 4) throw Error("pixel spread expects images [B,C,H,W] or [C,H,W]");
  auto a = x.detach().to(at::kDouble);
  if (a.dim() == 3) a = a.unsqueeze(0);
  return a.flatten(2).std(2, /*unbiased=*/false).mean(1);
}

at::Tensor ssim(const at::Tensor& x, const at::Tensor& y, double data_range) {
  at::NoGradGuard no_grad;
  auto [a, b] = prepare(x, y, "SSIM");
  if (a.size(2) < kWindow || a.size(3) < kWindow)
    throw Error("SSIM needs images of at least 11×11 pixels, got " + std::to_string(a.size(2)) + "×" +
                std::to_string(a.size(3)));
  const auto g = gaussian_1d(a.options());
  const double c1 = (kK1 * data_range) * (kK1 * data_range), c2 = (kK2 * data_range) * (kK2 * data_range);
  auto mu_a = filter(a, g), mu_b = filter(b, g);
  // Biased (1/N-weighted) local moments, as in the paper's reference implementation.
  auto var_a = filter(a * a, g) - mu_a * mu_a;
  auto var_b = filter(b * b, g) - mu_b * mu_b;
  auto cov = filter(a * b, g) - mu_a * mu_b;
  auto map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
  return map.flatten(1).mean(1);
}

}  // namespace setok::eval
