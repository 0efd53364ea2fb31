#include "core/runtime/system_info.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <link.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "kernels/cuda_info.h"

#ifdef SETOK_HAVE_OPENCV
#include <opencv2/core/version.hpp>
#endif

namespace setok {
namespace {

int collect_libs(dl_phdr_info* info, size_t, void* data) {
  if (info->dlpi_name && *info->dlpi_name) static_cast<std::vector<std::string>*>(data)->push_back(info->dlpi_name);
  return 0;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

}  // namespace

BlasInfo active_blas() {
  std::vector<std::string> libs;
  dl_iterate_phdr(collect_libs, &libs);
  BlasInfo info;
  info.vendor = "unknown";
  for (const auto& l : libs) {
    std::string base = l.substr(l.find_last_of('/') + 1);
    bool blas = base.rfind("libblas.so", 0) == 0 || base.rfind("libopenblas", 0) == 0 ||
                base.rfind("libmkl_rt", 0) == 0 || base.rfind("libblis", 0) == 0;
    if (!blas) continue;
    std::string rp = real_path(l);
    if (info.library.empty() || base.rfind("libblas.so", 0) == 0) info.library = rp;
  }
  const std::string& p = info.library;
  if (p.find("openblas") != std::string::npos) info.vendor = "OpenBLAS";
  else if (p.find("mkl") != std::string::npos) info.vendor = "MKL";
  else if (p.find("blis") != std::string::npos) info.vendor = "BLIS";
  else if (p.find("atlas") != std::string::npos) info.vendor = "ATLAS";
  else if (p.find("/blas/") != std::string::npos) info.vendor = "reference BLAS";
  using cfg_fn = char* (*)();
  using thr_fn = int (*)();
  // libopenblas may be loaded beside another libblas (through LAPACK): describe it only when it
  // is the BLAS that answers.
  if (info.vendor == "OpenBLAS" || info.vendor == "unknown") {
    if (auto cfg = reinterpret_cast<cfg_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
      info.config = cfg();
      info.vendor = "OpenBLAS";
    }
    if (auto thr = reinterpret_cast<thr_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) info.threads = thr();
  }
  return info;
}

CudaInfo cuda_info() {
  CudaInfo c;
  c.torch_cuda = torch::cuda::is_available();
  c.torch_devices = c.torch_cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  kernels::CudaRuntimeInfo r = kernels::cuda_runtime_info();
  c.kernels_compiled = r.compiled;
  c.runtime = r.runtime_version;
  c.devices = r.devices;
  c.error = r.error;
  return c;
}

std::string torch_version() {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
#endif
}

std::string opencv_version() {
#ifdef SETOK_HAVE_OPENCV
  return CV_VERSION;
#else
  return "";
#endif
}

int intra_op_threads() { return at::get_num_threads(); }

double matmul_gflops(int n, bool bf16) {
  at::NoGradGuard no_grad;
  const auto dtype = bf16 ? at::kBFloat16 : at::kFloat;
  at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  at::mm(a, b);  // warm-up
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    at::Tensor c = at::mm(a, b);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return 2.0 * n * n * n / best / 1e9;
}

std::string cpu_bf16_hardware() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::set<std::string> flags{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    if (flags.count("amx_bf16")) return "AMX";
    if (flags.count("avx512_bf16")) return "AVX512-BF16";
    return "";
  }
  return "";
}

}  // namespace setok
