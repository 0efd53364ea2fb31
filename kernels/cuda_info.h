#pragma once
// The CUDA runtime as kernels/ sees it; compiled without CUDA, `compiled` is false.
#include <string>
#include <vector>

namespace setok::kernels {

struct CudaRuntimeInfo {
  bool compiled = false;
  std::string runtime_version;
  std::vector<std::string> devices;
  std::string error;
};

CudaRuntimeInfo cuda_runtime_info();

}  // namespace setok::kernels
