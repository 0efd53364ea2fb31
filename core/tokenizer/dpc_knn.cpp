#include "core/tokenizer/dpc_knn.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace setok::tokenizer {

at::Tensor dpc_knn(const at::Tensor& x_in, int clusters, int knn) {
  at::NoGradGuard no_grad;
  at::Tensor x = x_in.to(at::kFloat);
  const int64_t B = x.size(0), n = x.size(1);
  const int64_t c = std::min<int64_t>(clusters, n), k = std::min<int64_t>(knn, n);
  at::Tensor dist = at::cdist(x, x) / std::sqrt(static_cast<double>(x.size(2)));
  at::Tensor nearest = std::get<0>(dist.topk(k, -1, /*largest=*/false));
  at::Tensor density = at::exp(-nearest.pow(2).mean(-1));
  density = density + at::rand(density.sizes(), density.options()) * 1e-6;  // break ties, as the originals do
  at::Tensor mask = (density.unsqueeze(1) > density.unsqueeze(2)).to(x.scalar_type());
  at::Tensor dist_max = std::get<0>(dist.flatten(1).max(-1)).view({B, 1, 1});
  at::Tensor parent_dist = std::get<0>((dist * mask + dist_max * (1 - mask)).min(-1));
  at::Tensor score = parent_dist * density;
  at::Tensor centers = std::get<1>(score.topk(c, -1));                                  // [B,C]
  at::Tensor to_centers = at::gather(dist, 1, centers.unsqueeze(2).expand({B, c, n}));  // [B,C,N]
  at::Tensor assign = to_centers.argmin(1);
  assign.scatter_(1, centers, at::arange(c, assign.options()).unsqueeze(0).expand({B, c}).contiguous());
  return assign;
}

}  // namespace setok::tokenizer
