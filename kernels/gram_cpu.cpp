// Gram matrix through BLAS ssyrk: C = Aᵀ·A computes one triangle, then it is mirrored.
#include "kernels/cluster.h"

#ifdef SETOK_HAVE_BLAS
extern "C" void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
                       const float* a, const int* lda, const float* beta, float* c, const int* ldc);
#endif

namespace setok::kernels {

bool gram_cpu(const float* xn, int batch, int n, int dim, float* out) {
#ifdef SETOK_HAVE_BLAS
  const float one = 1.0f, zero = 0.0f;
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  for (int b = 0; b < batch; ++b) {
    // Row-major [N,D] is column-major [D,N] = A; Aᵀ·A is the N×N Gram. 'U' fills, in column-major
    // terms, entries (i, j) with i <= j, i.e. row-major out[j*n + i].
    const float* a = xn + static_cast<std::size_t>(b) * n * dim;
    float* c = out + b * nn;
    ssyrk_("U", "T", &n, &dim, &one, a, &dim, &zero, c, &n);
#pragma omp parallel for schedule(static)
    for (int j = 0; j < n; ++j)
      for (int i = j + 1; i < n; ++i) c[static_cast<std::size_t>(j) * n + i] = c[static_cast<std::size_t>(i) * n + j];
  }
  return true;
#else
  (void)xn, (void)batch, (void)n, (void)dim, (void)out;
  return false;
#endif
}

}  // namespace setok::kernels
