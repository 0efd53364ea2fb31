#pragma once
// The Token Cluster's hot loops on raw buffers (no LibTorch here, so the same header serves the
// CPU and CUDA paths). The algorithm is specified in docs/design/tokenizer.md and implemented in
// plain LibTorch by core/tokenizer/token_cluster.cpp, which these must match.
#include <cstdint>

namespace setok::kernels {

struct ClusterArgs {
  int batch = 1, n = 0;  // images, patches per image
  int knn = 5;
  int max_tokens = 16;
  float beta = 1.0f;
  float bandwidth = 0.05f;  // σ of exp(-d²/σ)
  float stop_fraction = 0.01f;
};

// gram: [B,N,N] cosine similarities of unit-length rows. Writes soft (stick-breaking) masks
// [B,N,max_tokens] (zero beyond each image's count), num_tokens [B], seeds [B,max_tokens] (-1 for
// the final scope and padding), density ρ [B,N] and seed score s = ρ·δ [B,N].
void cluster_cpu(const float* gram, const ClusterArgs& args, float* masks, std::int64_t* num_tokens,
                 std::int64_t* seeds, float* density, float* score);

// Same contract on device pointers, on the given cudaStream_t (passed as void*). Throws
// std::runtime_error when this build has no CUDA.
void cluster_cuda(const float* gram, const ClusterArgs& args, float* masks, std::int64_t* num_tokens,
                  std::int64_t* seeds, float* density, float* score, void* stream);

bool cuda_kernels_compiled();

// Gram matrices of unit rows, xn [B,N,D] -> out [B,N,N], with the symmetric rank-k update of the
// system BLAS (half a matmul's work). Returns false when this build has no BLAS to call, and the
// caller computes it another way.
bool gram_cpu(const float* xn, int batch, int n, int dim, float* out);

}  // namespace setok::kernels
