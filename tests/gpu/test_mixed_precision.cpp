// bf16 autocast on CUDA as the training loops use it (core/train/autocast.h): the language model's
// forward under the training loops' autocast scope against f32 (tests/support/llama_autocast.h, which
// the CPU test shares), on a GPU; skipped elsewhere.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "core/train/autocast.h"
#include "tests/support/llama_autocast.h"

using namespace setok;

TEST(MixedPrecision, LanguageModelUnderCudaAutocastMatchesF32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  test::AutocastRuns r = test::llama_f32_and_autocast(at::kCUDA);
  EXPECT_FALSE(train::cuda_autocast_enabled());  // on inside the scope only
  test::expect_autocast_matches_f32(r);
}

// Only a thread-local switch: runs without a GPU too.
TEST(MixedPrecision, AutocastScopeSwitchesOffOnException) {
  EXPECT_FALSE(train::cuda_autocast_enabled());
  {
    train::AutocastScope off(at::kCUDA, false);
    EXPECT_FALSE(train::cuda_autocast_enabled());
  }
  try {
    train::AutocastScope scope(at::kCUDA, true);
    EXPECT_TRUE(train::cuda_autocast_enabled());
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(train::cuda_autocast_enabled());
}
