// Builds without nvcc: the CUDA cluster kernel is not part of this binary.
#include <stdexcept>

#include "kernels/cluster.h"

namespace setok::kernels {

void cluster_cuda(const float*, const ClusterArgs&, float*, std::int64_t*, std::int64_t*, float*, float*, void*) {
  throw std::runtime_error("this build has no CUDA kernels (nvcc was not found at configure time)");
}

bool cuda_kernels_compiled() { return false; }

}  // namespace setok::kernels
