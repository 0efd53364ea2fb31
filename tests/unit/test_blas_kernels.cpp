// BLAS kernels: OpenBLAS's SSE3 fallback is overridden by what the CPU has, and nothing else is.
#include <gtest/gtest.h>

#include <string>

#include "core/runtime/error.h"
#include "core/runtime/openmp_policy.h"

TEST(BlasKernels, OnlyTheSse3FallbackIsOverriddenAndByWhatTheCpuHas) {
  using setok::blas_coretype_for;
  EXPECT_EQ(blas_coretype_for("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(blas_coretype_for("Prescott", false, true), "Haswell");
  EXPECT_EQ(blas_coretype_for("Prescott", false, false), "") << "an SSE3-only CPU keeps what it has";
  EXPECT_EQ(blas_coretype_for("Haswell", true, true), "") << "a kernel OpenBLAS chose itself stands";
  EXPECT_EQ(blas_coretype_for("Zen", true, true), "");
  EXPECT_EQ(blas_coretype_for("", true, true), "") << "not OpenBLAS";
}
