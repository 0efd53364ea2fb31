#pragma once
// LibTorch's OpenMP threads and OpenBLAS's own threads share the cores. By default idle OpenMP
// threads spin, and on a small machine they steal the cores OpenBLAS is computing on: measured
// here (2 cores), a 729×1152 Gram matrix takes ~12 ms after OpenMP work instead of ~5 ms.
// libgomp reads OMP_WAIT_POLICY only when it loads, so the program re-executes itself once with
// OMP_WAIT_POLICY=PASSIVE unless the user set a policy. See docs/benchmarks.md.

namespace setok {

// Returns normally when nothing needs doing (policy already set, SETOK_NO_REEXEC set, or exec failed).
void ensure_passive_openmp(char** argv);

}  // namespace setok
