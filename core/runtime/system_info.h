#pragma once
// What `setok doctor` reports: the libraries actually loaded and what they can do.
#include <string>
#include <vector>

namespace setok {

struct BlasInfo {
  std::string vendor;   // "OpenBLAS", "reference BLAS", "BLIS", "ATLAS", "MKL" or "unknown"
  std::string library;  // resolved path of the loaded BLAS
  std::string config;   // openblas_get_config() where available
  int threads = 0;      // openblas_get_num_threads() where available
  bool is_reference() const { return vendor == "reference BLAS"; }
};
BlasInfo active_blas();

struct CudaInfo {
  bool torch_cuda = false;      // LibTorch was built with CUDA and sees a device
  int torch_devices = 0;
  bool kernels_compiled = false;  // kernels/ CUDA sources are in this build
  std::string runtime;           // CUDA runtime version, when compiled
  std::vector<std::string> devices;  // "NAME (N GiB, sm_XY)"
  std::string error;             // why no device, when the runtime says
};
CudaInfo cuda_info();

std::string torch_version();
std::string opencv_version();  // "" when built without OpenCV
int intra_op_threads();

// Measures a square f32 matmul (n×n) and returns GFLOP/s: a live check of the BLAS in use.
double matmul_gflops(int n = 1024);

}  // namespace setok
