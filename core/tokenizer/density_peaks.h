#pragma once
// Seed scores for the Token Cluster: density peaks (Du et al. 2016) on squared distances between
// L2-normalised patch features. See docs/design/tokenizer.md for why distances replace the
// printed kernel φ in Eq. 1–2.
#include <ATen/core/Tensor.h>

namespace setok::tokenizer {

struct DensityPeaks {
  at::Tensor d2;       // [B,N,N] squared distances, 2 - 2·cos, diagonal exactly 0
  at::Tensor density;  // [B,N] ρ, Eq. 1: exp(-mean d² to the K nearest, the patch included)
  at::Tensor delta;    // [B,N] δ, Eq. 2: distance to the nearest denser patch (the farthest for the densest)
  at::Tensor score;    // [B,N] seed score s = ρ·δ, in [0, 2]
};

// Unit-length rows: the clustering sees only feature directions, so it is invariant to scale.
at::Tensor normalize_features(const at::Tensor& x);

// x: [B,N,D] features (any scale). Differentiable.
DensityPeaks density_peaks(const at::Tensor& x, int knn);

}  // namespace setok::tokenizer
