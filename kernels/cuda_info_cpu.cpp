// Builds without nvcc: the CUDA runtime is not part of this binary.
#include "kernels/cuda_info.h"

namespace setok::kernels {

CudaRuntimeInfo cuda_runtime_info() {
  CudaRuntimeInfo r;
  r.error = "built without CUDA (nvcc was not found at configure time)";
  return r;
}

}  // namespace setok::kernels
