#include "core/eval/fid_setok.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

// The symmetric positive semi-definite square root of a symmetric matrix (negative eigenvalues,
// rounding noise, taken as 0).
at::Tensor sqrt_psd(const at::Tensor& m) {
  auto [values, vectors] = at::linalg_eigh((m + m.t()) / 2);
  return vectors.matmul(at::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

at::Tensor covariance(const at::Tensor& x) {
  const at::Tensor c = x - x.mean(0, true);
  return c.t().matmul(c) / static_cast<double>(x.size(0) - 1);
}

}  // namespace

at::Tensor setok_feature(tokenizer::SetokModelImpl& setok, const io::Image& picture) {
  c10::InferenceMode guard;
  const at::Tensor f = setok.encoder->patch_features(setok.preprocess(picture)).features;  // [1, N, d]
  return f[0].mean(0).to(at::kCPU, at::kDouble);
}

double frechet_distance(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1) || a.size(0) < 2 || b.size(0) < 2)
    throw Error("FID-setok needs two sets of at least two features of one width");
  const at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  const at::Tensor sa = covariance(x), sb = covariance(y);
  const at::Tensor ra = sqrt_psd(sa);
  const at::Tensor cross = sqrt_psd(ra.matmul(sb).matmul(ra));
  const double mean = (x.mean(0) - y.mean(0)).square().sum().item<double>();
  return mean + (sa.trace() + sb.trace() - 2 * cross.trace()).item<double>();
}

}  // namespace setok::eval
