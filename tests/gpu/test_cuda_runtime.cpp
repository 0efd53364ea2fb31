// GPU checks: run on a machine with a CUDA device, skip cleanly elsewhere.
#include <gtest/gtest.h>

#include <torch/cuda.h>

#include "kernels/cuda_info.h"

TEST(CudaRuntime, KernelsSeeTheSameDevicesAsLibTorch) {
  auto info = setok::kernels::cuda_runtime_info();
  if (!info.compiled) GTEST_SKIP() << "built without CUDA";
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << info.error;
  EXPECT_EQ(static_cast<int>(info.devices.size()), static_cast<int>(torch::cuda::device_count()));
}
