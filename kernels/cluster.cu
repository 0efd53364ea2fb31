// CUDA Token Cluster. Density and δ take a thread per patch; the seed loop (Algorithm 1) runs in
// one launch for the whole batch, a block per image, its scope kept in shared memory.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernels/cluster.h"

namespace setok::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxKnn = 64;

__device__ inline float d2_of(float g) { return fmaxf(0.0f, 2.0f - 2.0f * g); }

__global__ void density_kernel(const float* gram, int n, int k, float* density) {
  const int b = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float* g = gram + (static_cast<size_t>(b) * n + i) * n;
  float best[kMaxKnn];
  for (int t = 0; t < k; ++t) best[t] = 1e30f;
  for (int j = 0; j < n; ++j) {
    float d = j == i ? 0.0f : d2_of(g[j]);
    if (d < best[k - 1]) {  // insertion into the sorted K smallest
      int t = k - 1;
      while (t > 0 && best[t - 1] > d) best[t] = best[t - 1], --t;
      best[t] = d;
    }
  }
  float sum = 0.0f;
  for (int t = 0; t < k; ++t) sum += best[t];
  density[static_cast<size_t>(b) * n + i] = expf(-sum / static_cast<float>(k));
}

__global__ void score_kernel(const float* gram, const float* density, int n, float* score) {
  const int b = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float* g = gram + (static_cast<size_t>(b) * n + i) * n;
  const float* rho = density + static_cast<size_t>(b) * n;
  float best = 1e30f, far = 0.0f;
  bool any = false;
  for (int j = 0; j < n; ++j) {
    float d = j == i ? 0.0f : d2_of(g[j]);
    far = fmaxf(far, d);
    if ((rho[j] > rho[i] || (rho[j] == rho[i] && j < i)) && d < best) best = d, any = true;
  }
  score[static_cast<size_t>(b) * n + i] = rho[i] * sqrtf((any ? best : far) + 1e-6f);
}

// Block-wide reductions over kThreads threads.
__device__ int block_sum(int v, int* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  int r = red[0];
  __syncthreads();
  return r;
}

// argmax with the lowest index on ties, as the CPU paths do.
__device__ int block_argmax(float v, int i, float* rv, int* ri) {
  rv[threadIdx.x] = v;
  ri[threadIdx.x] = i;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      float a = rv[threadIdx.x], b = rv[threadIdx.x + s];
      int ia = ri[threadIdx.x], ib = ri[threadIdx.x + s];
      if (b > a || (b == a && ib < ia)) rv[threadIdx.x] = b, ri[threadIdx.x] = ib;
    }
    __syncthreads();
  }
  int r = ri[0];
  __syncthreads();
  return r;
}

__global__ void seed_loop_kernel(const float* gram, ClusterArgs a, float* masks, int64_t* num_tokens, int64_t* seeds,
                                 float* score) {
  extern __shared__ unsigned char smem[];
  const int n = a.n, T = a.max_tokens, b = blockIdx.x;
  float* log_z = reinterpret_cast<float*>(smem);
  unsigned char* unclaimed = smem + sizeof(float) * n;
  __shared__ float rv[kThreads];
  __shared__ int ri[kThreads];
  const float* g = gram + static_cast<size_t>(b) * n * n;
  float* s = score + static_cast<size_t>(b) * n;
  float* m = masks + static_cast<size_t>(b) * n * T;
  int64_t* sd = seeds + static_cast<size_t>(b) * T;

  for (int i = threadIdx.x; i < n; i += kThreads) {
    log_z[i] = 0.0f;
    unclaimed[i] = 1;
  }
  for (int t = threadIdx.x; t < T; t += kThreads) sd[t] = -1;
  __syncthreads();

  const float min_remaining = fmaxf(1.0f, a.stop_fraction * static_cast<float>(n));
  const float inv_bw = 1.0f / a.bandwidth;
  int tokens = 0, remaining = n;
  for (int c = 0; c < T - 1 && static_cast<float>(remaining) >= min_remaining; ++c) {
    float best = -1.0f;
    int arg = 0x7fffffff;
    for (int i = threadIdx.x; i < n; i += kThreads) {
      float v = expf(log_z[i]) * (s[i] + 1e-6f);
      if (v > best) best = v, arg = i;
    }
    const int seed = block_argmax(best, arg, rv, ri);
    const float* row = g + static_cast<size_t>(seed) * n;
    int left = 0;
    for (int i = threadIdx.x; i < n; i += kThreads) {
      float la = i == seed ? 0.0f : -d2_of(row[i]) * inv_bw - a.beta * s[i];
      float alpha = fminf(0.99f, fmaxf(0.01f, expf(la)));
      m[static_cast<size_t>(i) * T + c] = expf(log_z[i]) * alpha;
      log_z[i] += log1pf(-alpha);
      if (alpha > 0.5f) unclaimed[i] = 0;
      left += unclaimed[i];
    }
    remaining = block_sum(left, ri);
    if (threadIdx.x == 0) sd[c] = seed;
    ++tokens;
  }
  if (static_cast<float>(remaining) >= min_remaining) {
    for (int i = threadIdx.x; i < n; i += kThreads) m[static_cast<size_t>(i) * T + tokens] = expf(log_z[i]);
    ++tokens;
  } else {
    for (int i = threadIdx.x; i < n; i += kThreads) {
      float* row = m + static_cast<size_t>(i) * T;
      float sum = 0.0f;
      for (int c = 0; c < tokens; ++c) sum += row[c];
      for (int c = 0; c < tokens; ++c) row[c] /= sum;
    }
  }
  if (threadIdx.x == 0) num_tokens[b] = tokens;
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

void cluster_cuda(const float* gram, const ClusterArgs& a, float* masks, std::int64_t* num_tokens, std::int64_t* seeds,
                  float* density, float* score, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  const int k = a.knn < a.n ? a.knn : a.n;
  if (k > kMaxKnn) throw std::runtime_error("the CUDA cluster kernel supports knn up to 64");
  const size_t shared = static_cast<size_t>(a.n) * (sizeof(float) + 1);
  if (shared > 48 * 1024) throw std::runtime_error("the CUDA cluster kernel supports up to 9800 patches per image");
  check(cudaMemsetAsync(masks, 0, sizeof(float) * a.batch * a.n * a.max_tokens, stream), "cudaMemsetAsync");
  dim3 grid((a.n + kThreads - 1) / kThreads, a.batch);
  density_kernel<<<grid, kThreads, 0, stream>>>(gram, a.n, k, density);
  score_kernel<<<grid, kThreads, 0, stream>>>(gram, density, a.n, score);
  seed_loop_kernel<<<a.batch, kThreads, shared, stream>>>(gram, a, masks, num_tokens, seeds, score);
  check(cudaGetLastError(), "cluster kernel launch");
}

bool cuda_kernels_compiled() { return true; }

}  // namespace setok::kernels
