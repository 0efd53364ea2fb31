// Token Cluster (Algorithm 1): the properties a user of the tokenizer relies on, for the
// LibTorch reference and the fused kernels alike.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "core/runtime/error.h"
#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/token_cleanup.h"
#include "core/tokenizer/token_cluster.h"
#include "tests/support/blobs.h"
#include "tests/support/cluster_params.h"

using namespace setok::tokenizer;
using setok::test::make_blobs;
using setok::test::params;
using setok::test::recovers_exactly;

namespace {

// Both implementations, so every property is checked on each.
using Impl = ClusterResult (*)(const at::Tensor&, const ClusterParams&);
ClusterResult ref(const at::Tensor& x, const ClusterParams& p) { return cluster_reference(x, p); }
ClusterResult fast(const at::Tensor& x, const ClusterParams& p) { return cluster_fast(x, p); }

struct TokenClusterImpls : ::testing::TestWithParam<Impl> {};

}  // namespace

TEST_P(TokenClusterImpls, MasksSumToOneAndHardMasksAreOneHot) {
  at::manual_seed(0);
  at::Tensor x = at::randn({3, 64, 32});
  for (ClusterMode mode : {ClusterMode::kHard, ClusterMode::kSoft}) {
    ClusterResult r = GetParam()(x, params(8, mode));
    EXPECT_TRUE(at::allclose(r.masks.sum(-1), at::ones({3, 64}), 1e-5, 1e-5));
    EXPECT_TRUE(at::allclose(r.soft_masks.sum(-1), at::ones({3, 64}), 1e-5, 1e-5));
    EXPECT_GE(r.soft_masks.min().item<float>(), 0.0f);
    if (mode == ClusterMode::kHard) {
      EXPECT_TRUE((r.masks == 0).logical_or(r.masks == 1).all().item<bool>());
    }
    // Padded token columns are empty.
    EXPECT_EQ((r.masks * (~r.token_valid).unsqueeze(1)).abs().sum().item<float>(), 0.0f);
  }
}

TEST_P(TokenClusterImpls, NeverExceedsTheCap) {
  at::Tensor x = make_blobs({20, 20, 20, 20, 20, 20, 20, 20, 20, 20}, 64, 0.05, 1).x.unsqueeze(0);
  for (int cap : {1, 2, 4, 7}) {
    ClusterResult r = GetParam()(x, params(cap));
    EXPECT_EQ(r.num_tokens[0].item<int64_t>(), cap) << "ten blobs fill every allowed token";
    EXPECT_EQ(r.masks.size(2), cap);
    // The final scope holds what the seeds did not take.
    if (cap > 1) {
      EXPECT_EQ(r.seeds[0][cap - 1].item<int64_t>(), -1);
    }
  }
}

TEST_P(TokenClusterImpls, RecoversWellSeparatedBlobsExactly) {
  struct Case {
    std::vector<int> sizes;
    int dim;
  };
  std::vector<Case> cases = {
      {{40, 40}, 64},
      {{200, 12}, 64},
      {{3, 150, 17, 60, 9}, 64},
      {{90, 4, 30, 7, 55, 12, 3, 40, 21, 5, 66, 8, 14, 33, 6, 70, 10, 25, 4, 48}, 64},
      {{5, 120, 30}, 1152},
      {{60, 3, 25, 9, 200, 14, 40, 6, 80, 11}, 1152},
  };
  int seed = 10;
  for (const auto& c : cases) {
    auto blobs = make_blobs(c.sizes, c.dim, 0.05, ++seed);
    ClusterParams p = params(static_cast<int>(c.sizes.size()) + 4);
    p.stop_fraction = 0.0f;  // blobs of 3 patches must still get a seed
    ClusterResult r = GetParam()(blobs.x.unsqueeze(0), p);
    EXPECT_EQ(r.num_tokens[0].item<int64_t>(), static_cast<int64_t>(c.sizes.size()))
        << c.sizes.size() << " blobs in d=" << c.dim;
    EXPECT_TRUE(recovers_exactly(r.masks[0], blobs.labels, static_cast<int>(c.sizes.size())))
        << c.sizes.size() << " blobs in d=" << c.dim;
  }
}

TEST_P(TokenClusterImpls, DefaultsRecoverBlobsAboveTheStopFraction) {
  auto blobs = make_blobs({100, 30, 60, 12, 45}, 256, 0.05, 3);
  ClusterResult r = GetParam()(blobs.x.unsqueeze(0), params(16));
  EXPECT_EQ(r.num_tokens[0].item<int64_t>(), 5);
  EXPECT_TRUE(recovers_exactly(r.masks[0], blobs.labels, 5));
}

TEST_P(TokenClusterImpls, IdenticalFeaturesGiveOneToken) {
  at::Tensor x = at::randn({1, 1, 48}).expand({2, 50, 48}).contiguous();
  ClusterResult r = GetParam()(x, params(16));
  EXPECT_EQ(r.num_tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(r.num_tokens[1].item<int64_t>(), 1);
  EXPECT_TRUE(at::allclose(r.masks, at::ones({2, 50, 1})));
}

TEST_P(TokenClusterImpls, ScalingFeaturesChangesNothing) {
  at::manual_seed(4);
  at::Tensor x = at::randn({2, 100, 24});
  ClusterResult a = GetParam()(x, params(12));
  for (double s : {1e-3, 7.0, 1e4}) {
    ClusterResult b = GetParam()(x * s, params(12));
    EXPECT_TRUE(a.num_tokens.equal(b.num_tokens)) << s;
    EXPECT_TRUE(at::allclose(a.masks, b.masks, 1e-4, 1e-5)) << s;
  }
}

TEST_P(TokenClusterImpls, PermutingPatchesPermutesMasks) {
  auto blobs = make_blobs({30, 20, 10}, 32, 0.3, 5);
  at::Tensor x = blobs.x.unsqueeze(0);
  at::Tensor perm = at::randperm(60, at::kLong);
  ClusterResult a = GetParam()(x, params(10, ClusterMode::kSoft));
  ClusterResult b = GetParam()(x.index_select(1, perm), params(10, ClusterMode::kSoft));
  ASSERT_TRUE(a.num_tokens.equal(b.num_tokens));
  EXPECT_TRUE(at::allclose(a.masks.index_select(1, perm), b.masks, 1e-5, 1e-6));
}

TEST_P(TokenClusterImpls, SameInputSameOutput) {
  at::manual_seed(6);
  at::Tensor x = at::randn({2, 81, 16});
  ClusterResult a = GetParam()(x, params(9)), b = GetParam()(x, params(9));
  EXPECT_TRUE(a.masks.equal(b.masks));
  EXPECT_TRUE(a.seeds.equal(b.seeds));
}

TEST_P(TokenClusterImpls, BatchedImagesMatchSingleImagesDespitePadding) {
  at::Tensor a = make_blobs({40, 40}, 32, 0.05, 7).x;
  at::Tensor b = make_blobs({20, 15, 10, 10, 15, 10}, 32, 0.05, 8).x;
  ClusterParams p = params(10);
  ClusterResult both = GetParam()(at::stack({a, b}), p);
  EXPECT_EQ(both.num_tokens[0].item<int64_t>(), 2);
  EXPECT_EQ(both.num_tokens[1].item<int64_t>(), 6);
  EXPECT_EQ(both.token_valid.sum().item<int64_t>(), 8);
  for (int i = 0; i < 2; ++i) {
    ClusterResult one = GetParam()((i ? b : a).unsqueeze(0), p);
    int64_t c = one.num_tokens[0].item<int64_t>();
    EXPECT_TRUE(at::allclose(both.masks[i].narrow(1, 0, c), one.masks[0], 1e-5, 1e-6)) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, TokenClusterImpls, ::testing::Values(&ref));
INSTANTIATE_TEST_SUITE_P(FusedKernel, TokenClusterImpls, ::testing::Values(&fast));

TEST(TokenCluster, FusedKernelMatchesReference) {
  for (int trial = 0; trial < 6; ++trial) {
    at::manual_seed(100 + trial);
    at::Tensor x = trial % 2 ? at::randn({3, 150, 40}) : make_blobs({50, 30, 40, 30}, 40, 0.4, trial).x.unsqueeze(0);
    for (ClusterMode mode : {ClusterMode::kHard, ClusterMode::kSoft}) {
      ClusterParams p = params(6 + trial, mode);
      p.beta = 0.5f * trial;
      ClusterResult r = cluster_reference(x, p), f = cluster_fast(x, p);
      ASSERT_TRUE(r.num_tokens.equal(f.num_tokens)) << trial;
      EXPECT_TRUE(r.seeds.equal(f.seeds)) << trial;
      EXPECT_TRUE(at::allclose(r.soft_masks, f.soft_masks, 1e-4, 1e-5)) << trial;
      EXPECT_TRUE(at::allclose(r.density, f.density, 1e-5, 1e-6)) << trial;
      EXPECT_TRUE(at::allclose(r.score, f.score, 1e-4, 1e-5)) << trial;
    }
  }
}

// Soft mode: the analytic gradient of a loss on the masks matches central finite differences
// (double precision, a small case whose discrete choices do not flip under the perturbation).
TEST(TokenCluster, SoftGradientMatchesFiniteDifferences) {
  auto blobs = make_blobs({5, 4, 3}, 6, 0.6, 9, at::kDouble);
  at::Tensor x = blobs.x.unsqueeze(0).clone().requires_grad_(true);
  ClusterParams p = params(6, ClusterMode::kSoft);
  // Wide enough that no alpha reaches the [0.01, 0.99] clamp, whose straight-through gradient
  // is by design not the clamped function's derivative.
  p.bandwidth = 2.0f;
  p.beta = 0.5f;
  at::manual_seed(1);
  at::Tensor w = at::randn({1, 12, 6}, at::kDouble);
  auto loss = [&](const at::Tensor& in) {
    ClusterResult r = cluster_reference(in, p);
    return (r.masks * w.narrow(2, 0, r.masks.size(2))).sum();
  };
  loss(x).backward();
  at::Tensor g = x.grad().clone();
  EXPECT_GT(g.abs().sum().item<double>(), 1e-6) << "gradients reach the features";
  const double eps = 1e-6;
  at::Tensor xd = x.detach();
  double worst = 0;
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t d = 0; d < 6; ++d) {
      at::Tensor plus = xd.clone(), minus = xd.clone();
      plus[0][i][d] += eps;
      minus[0][i][d] -= eps;
      double fd = (loss(plus).item<double>() - loss(minus).item<double>()) / (2 * eps);
      worst = std::max(worst, std::abs(fd - g[0][i][d].item<double>()));
    }
  EXPECT_LT(worst, 1e-4);
}

// Hard mode: one-hot forward, and the straight-through gradient is the soft masks' gradient.
TEST(TokenCluster, HardModePassesTheSoftGradientThrough) {
  auto blobs = make_blobs({5, 4, 3}, 6, 0.6, 9, at::kDouble);
  at::manual_seed(2);
  at::Tensor w = at::randn({1, 12, 6}, at::kDouble);
  at::Tensor g[2];
  for (int m = 0; m < 2; ++m) {
    at::Tensor x = blobs.x.unsqueeze(0).clone().requires_grad_(true);
    ClusterParams p = params(6, m ? ClusterMode::kHard : ClusterMode::kSoft);
    p.bandwidth = 0.5f;
    ClusterResult r = cluster_reference(x, p);
    (r.masks * w.narrow(2, 0, r.masks.size(2))).sum().backward();
    g[m] = x.grad();
  }
  EXPECT_GT(g[1].abs().sum().item<double>(), 1e-6);
  EXPECT_TRUE(at::allclose(g[0], g[1]));
}

TEST(TokenCluster, ModuleUsesKernelsForInferenceAndLearnsItsBandwidth) {
  TokenClusterOptions o;
  o.params = params(8);
  o.learnable_bandwidth = true;
  TokenCluster tc(o);
  ASSERT_EQ(tc->parameters().size(), 1u);
  auto blobs = make_blobs({30, 30}, 16, 0.3, 11);
  at::Tensor x = blobs.x.unsqueeze(0).requires_grad_(true);
  ClusterResult r = tc->forward(x);
  (r.masks * at::randn_like(r.masks)).sum().backward();
  EXPECT_TRUE(tc->parameters()[0].grad().defined());
  EXPECT_TRUE(x.grad().defined());
  at::NoGradGuard ng;
  ClusterResult inf = tc->forward(blobs.x.unsqueeze(0));
  EXPECT_TRUE(inf.num_tokens.equal(r.num_tokens));
  EXPECT_TRUE(at::allclose(inf.soft_masks, r.soft_masks.detach(), 1e-4, 1e-5));
}

TEST(TokenCluster, PositionWeightSeparatesFarApartRegionsThatLookAlike) {
  // An 8 x 8 grid: background everywhere but two 3 x 3 squares in opposite corners whose patches
  // have exactly the same feature. By look alone they are one region; with their places joined to
  // the features they are two.
  const int side = 8, n = side * side;
  at::Tensor x = at::zeros({1, n, 4});
  x.select(2, 0).fill_(1.0);  // background
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c)
      if ((r < 3 && c < 3) || (r >= 5 && c >= 5)) {
        x[0][r * side + c][0] = 0.0;
        x[0][r * side + c][1] = 1.0;
      }
  TokenClusterOptions o;
  o.params = params(8);
  o.params.beta = 0.0f;
  o.params.bandwidth = 1.0f;
  o.params.stop_fraction = 0.0f;
  TokenCluster look_only(o);
  at::NoGradGuard ng;
  EXPECT_EQ(look_only->forward(x).num_tokens.item<int64_t>(), 2);
  o.params.position_weight = 1.0f;
  TokenCluster with_place(o);
  ClusterResult r = with_place->forward(x);
  // The squares get a token each; the background, spread over the whole grid, may split as well.
  EXPECT_GE(r.num_tokens.item<int64_t>(), 3);
  at::Tensor a = r.masks[0].argmax(1);
  at::Tensor a0 = look_only->forward(x).masks[0].argmax(1);
  EXPECT_EQ(a0[0].item<int64_t>(), a0[n - 1].item<int64_t>());
  EXPECT_NE(a[0].item<int64_t>(), a[n - 1].item<int64_t>());         // the two squares' corners
  EXPECT_EQ(a[0].item<int64_t>(), a[2 * side + 2].item<int64_t>());  // one square stays whole
  EXPECT_EQ(a[n - 1].item<int64_t>(), a[5 * side + 5].item<int64_t>());
  // Not a square grid: a one-line error.
  EXPECT_THROW(with_place->forward(at::randn({1, 10, 4})), setok::Error);
  // The setting travels through config JSON, and only when it is set.
  nlohmann::json j = o.params;
  EXPECT_FLOAT_EQ(j.at("position_weight").get<float>(), 1.0f);
  EXPECT_FALSE(nlohmann::json(params(8)).contains("position_weight"));
  EXPECT_FLOAT_EQ(j.get<ClusterParams>().position_weight, 1.0f);
  o.params.position_weight = -1.0f;
  EXPECT_THROW(o.params.validate(), setok::Error);
}

TEST(TokenCluster, RefusesBadInputAndSettings) {
  EXPECT_THROW(cluster_fast(at::randn({5, 4}), params(4)), setok::Error);
  EXPECT_THROW(cluster_fast(at::randn({1, 0, 4}), params(4)), setok::Error);
  EXPECT_THROW(cluster_fast(at::randn({1, 5, 4}), params(0)), setok::Error);
  ClusterParams p = params(4);
  p.stop_fraction = 1.5f;
  EXPECT_THROW(cluster_reference(at::randn({1, 5, 4}), p), setok::Error);
  EXPECT_THROW(parse_cluster_mode("medium"), setok::Error);
}

// In hard mode every valid token owns at least one patch (an empty one would have nothing to
// merge); random features at a tight cap used to leave the final scope empty.
TEST(TokenCluster, HardTokensAreNeverEmpty) {
  for (int trial = 0; trial < 20; ++trial) {
    at::manual_seed(200 + trial);
    at::Tensor x = at::randn({4, 64, 8});
    ClusterParams p;
    p.max_tokens = 3 + trial % 5;
    for (Impl impl : {&ref, &fast}) {
      ClusterResult r = impl(x, p);
      at::Tensor per_token = r.masks.sum(1);  // [B,C]
      EXPECT_TRUE(((per_token >= 1) == r.token_valid).all().item<bool>()) << trial;
    }
  }
}
