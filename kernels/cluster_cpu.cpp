// Fused CPU Token Cluster: density peaks and the seed loop in one pass over the Gram matrix, with
// no temporaries of size N² beyond the Gram itself. Parallel over rows (density, δ) and images
// (seed loop) with OpenMP, which LibTorch already uses.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cluster.h"

namespace setok::kernels {
namespace {

inline float d2_of(float g) { return std::max(0.0f, 2.0f - 2.0f * g); }

// One image's seed loop (Algorithm 1 in log space); masks is [N, T] for this image.
void seed_loop(const float* gram, const float* score, const ClusterArgs& a, float* masks, std::int64_t* num_tokens,
               std::int64_t* seeds) {
  const int n = a.n, T = a.max_tokens;
  // The scope z is kept as a plain product (the reference keeps log z): the same values up to
  // rounding, with one exp per patch and step instead of three.
  std::vector<float> z(n, 1.0f);
  std::vector<char> unclaimed(n, 1);
  const float min_remaining = std::max(1.0f, a.stop_fraction * static_cast<float>(n));
  const float inv_bw = 1.0f / a.bandwidth;
  int tokens = 0;
  int remaining = n;
  for (int c = 0; c < T - 1 && static_cast<float>(remaining) >= min_remaining; ++c) {
    int seed = 0;
    float best = -1.0f;
    for (int i = 0; i < n; ++i) {
      float v = z[i] * (score[i] + 1e-6f);
      if (v > best) best = v, seed = i;
    }
    const float* row = gram + static_cast<std::size_t>(seed) * n;
    remaining = 0;
    for (int i = 0; i < n; ++i) {
      float alpha =
          i == seed ? 0.99f : std::min(0.99f, std::max(0.01f, std::exp(-d2_of(row[i]) * inv_bw - a.beta * score[i])));
      masks[static_cast<std::size_t>(i) * T + c] = z[i] * alpha;
      z[i] *= 1.0f - alpha;
      if (alpha > 0.5f) unclaimed[i] = 0;
      remaining += unclaimed[i];
    }
    seeds[c] = seed;
    ++tokens;
  }
  if (static_cast<float>(remaining) >= min_remaining) {
    // The cap was reached with patches left: the final scope becomes a token (Algorithm 1, line 8).
    for (int i = 0; i < n; ++i) masks[static_cast<std::size_t>(i) * T + tokens] = z[i];
    seeds[tokens] = -1;
    ++tokens;
  } else {
    // The final scope is empty: its few patches go to the masks that reached them most.
    for (int i = 0; i < n; ++i) {
      float* m = masks + static_cast<std::size_t>(i) * T;
      float s = 0.0f;
      for (int c = 0; c < tokens; ++c) s += m[c];
      for (int c = 0; c < tokens; ++c) m[c] /= s;
    }
  }
  *num_tokens = tokens;
}

}  // namespace

void cluster_cpu(const float* gram, const ClusterArgs& a, float* masks, std::int64_t* num_tokens, std::int64_t* seeds,
                 float* density, float* score) {
  const int n = a.n, B = a.batch, T = a.max_tokens;
  const int k = std::min(a.knn, n);
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  std::vector<float> delta(static_cast<std::size_t>(B) * n);

  // Eq. 1: density from the K smallest squared distances (the patch itself, at 0, included).
#pragma omp parallel
  {
    std::vector<float> best(k);
#pragma omp for schedule(static)
    for (long r = 0; r < static_cast<long>(B) * n; ++r) {
      const float* g = gram + (r / n) * nn + (r % n) * static_cast<std::size_t>(n);
      const int self = static_cast<int>(r % n);
      // The K smallest, kept sorted by insertion: with K << N almost every value is rejected
      // by one comparison.
      std::fill(best.begin(), best.end(), std::numeric_limits<float>::infinity());
      for (int j = 0; j < n; ++j) {
        float d = j == self ? 0.0f : d2_of(g[j]);
        if (d >= best[k - 1]) continue;
        int t = k - 1;
        while (t > 0 && best[t - 1] > d) best[t] = best[t - 1], --t;
        best[t] = d;
      }
      float sum = 0.0f;
      for (int j = 0; j < k; ++j) sum += best[j];
      density[r] = std::exp(-sum / static_cast<float>(k));
    }
  }
  // Eq. 2: distance to the nearest denser patch (ties: the lower index is denser).
#pragma omp parallel for schedule(static)
  for (long r = 0; r < static_cast<long>(B) * n; ++r) {
    const long b = r / n;
    const int i = static_cast<int>(r % n);
    const float* g = gram + b * nn + static_cast<std::size_t>(i) * n;
    const float* rho = density + b * n;
    float best = std::numeric_limits<float>::infinity(), far = 0.0f;
    for (int j = 0; j < n; ++j) {
      float d2 = j == i ? 0.0f : d2_of(g[j]);
      far = std::max(far, d2);
      if ((rho[j] > rho[i] || (rho[j] == rho[i] && j < i)) && d2 < best) best = d2;
    }
    float d = best == std::numeric_limits<float>::infinity() ? far : best;
    delta[r] = std::sqrt(d + 1e-6f);  // as the reference: sqrt(d² + ε)
  }
#pragma omp parallel for schedule(static)
  for (int b = 0; b < B; ++b) {
    float* s = score + static_cast<std::size_t>(b) * n;
    const float* rho = density + static_cast<std::size_t>(b) * n;
    for (int i = 0; i < n; ++i) s[i] = rho[i] * delta[static_cast<std::size_t>(b) * n + i];
    float* m = masks + static_cast<std::size_t>(b) * n * T;
    std::fill(m, m + static_cast<std::size_t>(n) * T, 0.0f);
    std::int64_t* sd = seeds + static_cast<std::size_t>(b) * T;
    std::fill(sd, sd + T, -1);
    seed_loop(gram + b * nn, s, a, m, num_tokens + b, sd);
  }
}

}  // namespace setok::kernels
