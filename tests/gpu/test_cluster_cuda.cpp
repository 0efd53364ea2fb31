// The CUDA Token Cluster against the LibTorch reference on the CPU. Skips without a GPU.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include "core/tokenizer/token_cluster.h"
#include "kernels/cluster.h"
#include "tests/support/blobs.h"

using namespace setok::tokenizer;

TEST(ClusterCuda, MatchesTheReferenceOnBlobsAndNoise) {
  if (!setok::kernels::cuda_kernels_compiled()) GTEST_SKIP() << "built without CUDA kernels";
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (int trial = 0; trial < 4; ++trial) {
    at::manual_seed(trial);
    at::Tensor x = trial % 2 ? at::randn({5, 729, 64})
                             : setok::test::make_blobs({300, 200, 129, 50, 40, 10}, 256, 0.3, trial).x.unsqueeze(0);
    for (ClusterMode mode : {ClusterMode::kHard, ClusterMode::kSoft}) {
      ClusterParams p;
      p.max_tokens = 8 + 8 * trial;
      p.mode = mode;
      ClusterResult ref = cluster_reference(x, p);
      ClusterResult gpu = cluster_fast(x.to(at::kCUDA), p);
      ASSERT_TRUE(ref.num_tokens.equal(gpu.num_tokens.cpu())) << trial;
      EXPECT_TRUE(ref.seeds.equal(gpu.seeds.cpu())) << trial;
      EXPECT_TRUE(at::allclose(ref.soft_masks, gpu.soft_masks.cpu(), 1e-4, 1e-5)) << trial;
      EXPECT_TRUE(at::allclose(ref.density, gpu.density.cpu(), 1e-5, 1e-6)) << trial;
    }
  }
}

TEST(ClusterCuda, BatchOf64InOneCall) {
  if (!setok::kernels::cuda_kernels_compiled() || !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA";
  at::Tensor x = at::randn({64, 729, 1152}, at::kCUDA);
  ClusterParams p;
  p.max_tokens = 32;
  ClusterResult r = cluster_fast(x, p);
  EXPECT_EQ(r.num_tokens.size(0), 64);
  EXPECT_TRUE(at::allclose(r.masks.sum(-1).cpu(), at::ones({64, 729}), 1e-4, 1e-4));
}
