// Queries the CUDA runtime directly, so doctor can tell "no GPU here" from "no CUDA in LibTorch".
#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/cuda_info.h"

namespace setok::kernels {

CudaRuntimeInfo cuda_runtime_info() {
  CudaRuntimeInfo r;
  r.compiled = true;
  int v = 0;
  cudaRuntimeGetVersion(&v);
  r.runtime_version = std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    r.error = cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky error state for later calls
    return r;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s (%.0f GiB, sm_%d%d)", p.name, p.totalGlobalMem / 1073741824.0, p.major, p.minor);
    r.devices.emplace_back(buf);
  }
  return r;
}

}  // namespace setok::kernels
