#pragma once
// Settings the CPU libraries read only when they load, so the program re-executes itself once
// with them in its environment (unless the user set them, or SETOK_NO_REEXEC is set):
//
// - OMP_WAIT_POLICY=PASSIVE. LibTorch's OpenMP threads and OpenBLAS's own threads share the
//   cores. By default idle OpenMP threads spin, and on a small machine they steal the cores
//   OpenBLAS is computing on: measured (2 cores), a 729×1152 Gram matrix takes ~12 ms after OpenMP
//   work instead of ~5 ms.
// - OPENBLAS_CORETYPE, only when OpenBLAS (built with DYNAMIC_ARCH, as Debian's is) did not know
//   the CPU and fell back to its SSE3 "Prescott" kernels: a CPU newer than the library, or a VM
//   that hides the CPU model. Then the CPU's own features choose: AVX-512 (F, BW, VL, DQ) →
//   SkylakeX, AVX2 + FMA → Haswell. Measured on a 2-core Xeon VM with AMX that OpenBLAS 0.3.21
//   takes for Prescott: a 1024² f32 matmul 27–32 → 165–174 GFLOP/s. See docs/benchmarks.md.
#include <string>

namespace setok {

// The OPENBLAS_CORETYPE to ask for given OpenBLAS's kernel name (openblas_get_corename) and the
// CPU's features; "" when OpenBLAS's own choice stands.
std::string blas_coretype_for(const std::string& corename, bool avx512, bool avx2_fma);

// The loaded OpenBLAS's kernel name ("" when the BLAS is not OpenBLAS).
std::string openblas_corename();

// blas_coretype_for OpenBLAS's kernel name (by default the loaded one's) and this CPU.
std::string wanted_blas_coretype(const std::string& corename = openblas_corename());

// Returns normally when nothing needs doing (both set already, SETOK_NO_REEXEC set, or exec failed).
void ensure_passive_openmp(char** argv);

}  // namespace setok
