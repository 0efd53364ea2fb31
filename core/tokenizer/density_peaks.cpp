#include "core/tokenizer/density_peaks.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace setok::tokenizer {

at::Tensor normalize_features(const at::Tensor& x) { return x / x.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12); }

DensityPeaks density_peaks(const at::Tensor& x, int knn) {
  const int64_t n = x.size(1);
  at::Tensor xn = normalize_features(x);
  at::Tensor eye = at::eye(n, x.options().dtype(at::kBool));
  // Eq. 1-2 need distances; 2 - 2cos is the squared distance of unit vectors.
  at::Tensor d2 = (2.0 - 2.0 * at::bmm(xn, xn.transpose(1, 2))).clamp_min(0.0).masked_fill(eye, 0.0);

  const int64_t k = std::min<int64_t>(knn, n);
  at::Tensor nearest = std::get<0>(d2.topk(k, -1, /*largest=*/false, /*sorted=*/false));
  at::Tensor rho = at::exp(-nearest.mean(-1));  // Eq. 1

  // j is denser than i: higher density, ties broken towards the lower index (deterministic).
  at::Tensor ri = rho.unsqueeze(2), rj = rho.unsqueeze(1);
  at::Tensor idx = at::arange(n, x.options().dtype(at::kLong));
  at::Tensor j_before_i = idx.unsqueeze(0) < idx.unsqueeze(1);  // [i, j]
  at::Tensor denser = (rj > ri) | ((rj == ri) & j_before_i.unsqueeze(0));
  at::Tensor inf = at::full({}, std::numeric_limits<double>::infinity(), d2.options());
  at::Tensor nearest_denser = at::where(denser, d2, inf).amin(-1);
  at::Tensor has_denser = denser.any(-1);
  at::Tensor delta2 = at::where(has_denser, nearest_denser, d2.amax(-1));  // Eq. 2
  // sqrt(d² + ε): bounded gradient where a denser patch is (nearly) identical.
  at::Tensor delta = (delta2 + 1e-6).sqrt();

  // Unit-length features put δ in [0, 2] and ρ in (0, 1]: the score has an absolute scale, so
  // the β penalty means the same for every image (a per-image max would blow noise up to 1).
  return {d2, rho, delta, rho * delta};
}

}  // namespace setok::tokenizer
