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
  bool torch_cuda = false;  // LibTorch was built with CUDA and sees a device
  int torch_devices = 0;
  bool kernels_compiled = false;     // kernels/ CUDA sources are in this build
  std::string runtime;               // CUDA runtime version, when compiled
  std::vector<std::string> devices;  // "NAME (N GiB, sm_XY)"
  std::string error;                 // why no device, when the runtime says
};
CudaInfo cuda_info();

std::string torch_version();
std::string opencv_version();  // "" when built without OpenCV
int intra_op_threads();

// Measures a square matmul (n×n, f32 or bf16) and returns GFLOP/s: a live check of the BLAS in use
// (f32) and of the CPU's bf16 path (oneDNN).
double matmul_gflops(int n = 1024, bool bf16 = false);

// The CPU's bf16 multiply unit from /proc/cpuinfo: "AMX", "AVX512-BF16", or "" where bf16 is
// emulated (then `cpu_bf16` training is slower than f32, not faster).
std::string cpu_bf16_hardware();

}  // namespace setok
