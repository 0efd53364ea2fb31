#include "core/runtime/openmp_policy.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace setok {

std::string blas_coretype_for(const std::string& corename, bool avx512, bool avx2_fma) {
  if (corename != "Prescott") return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

std::string openblas_corename() {
  using name_fn = char* (*)();
  auto f = reinterpret_cast<name_fn>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* s = f ? f() : nullptr;
  return s ? std::string(s) : std::string();
}

std::string wanted_blas_coretype(const std::string& corename) {
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return blas_coretype_for(corename, avx512, avx2_fma);
}

void ensure_passive_openmp(char** argv) {
  if (std::getenv("SETOK_NO_REEXEC")) return;
  bool change = false;
  if (!std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    change = true;
  }
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    const std::string name = openblas_corename();
    const std::string want = wanted_blas_coretype(name);
    if (!want.empty()) {
      ::setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
      ::setenv("SETOK_BLAS_DETECTED", name.c_str(), 1);  // for `setok doctor`
      change = true;
    }
  }
  if (!change) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on with what the libraries already have.
}

}  // namespace setok
