#pragma once
// Synthetic patch features: well-separated blobs around random directions, in shuffled order.
#include <ATen/ATen.h>

#include <vector>

namespace setok::test {

struct Blobs {
  at::Tensor x;       // [N, D]
  at::Tensor labels;  // [N] blob index
};

inline Blobs make_blobs(const std::vector<int>& sizes, int dim, double noise, std::uint64_t seed,
                        at::ScalarType dtype = at::kFloat) {
  at::manual_seed(seed);
  int n = 0;
  for (int s : sizes) n += s;
  at::Tensor centers = at::randn({static_cast<int64_t>(sizes.size()), dim}, at::kDouble);
  centers = centers / centers.norm(2, -1, true);
  std::vector<int64_t> lab;
  for (std::size_t b = 0; b < sizes.size(); ++b) lab.insert(lab.end(), sizes[b], static_cast<int64_t>(b));
  at::Tensor labels = at::tensor(lab, at::kLong);
  at::Tensor perm = at::randperm(n, at::kLong);
  labels = labels.index({perm});
  // Noise of norm ~`noise` regardless of the dimension.
  at::Tensor x = centers.index({labels}) + at::randn({n, dim}, at::kDouble) * (noise / std::sqrt(double(dim)));
  return {x.to(dtype), labels};
}

// True when each token's hard mask is exactly one blob (a one-to-one match).
inline bool recovers_exactly(const at::Tensor& hard_masks_nc, const at::Tensor& labels, int blobs) {
  at::Tensor assign = hard_masks_nc.argmax(-1);  // [N]
  if (hard_masks_nc.size(1) != blobs) return false;
  std::vector<int64_t> token_of_blob(blobs, -1);
  for (int64_t i = 0; i < labels.size(0); ++i) {
    int64_t b = labels[i].item<int64_t>(), t = assign[i].item<int64_t>();
    if (token_of_blob[b] == -1) token_of_blob[b] = t;
    else if (token_of_blob[b] != t) return false;
  }
  std::vector<int> seen(blobs, 0);
  for (auto t : token_of_blob)
    if (t < 0 || seen[t]++) return false;
  return true;
}

}  // namespace setok::test
