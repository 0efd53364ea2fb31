// Token Cluster (Algorithm 1): the properties a user of the tokenizer relies on, for the
// LibTorch reference and the fused kernels alike.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/runtime/error.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/token_cleanup.h"
#include "core/tokenizer/token_cluster.h"
#include "tests/support/blobs.h"

using namespace setok::tokenizer;
using setok::test::make_blobs;
using setok::test::recovers_exactly;

namespace {

ClusterParams params(int cap, ClusterMode mode = ClusterMode::kHard) {
  ClusterParams p;
  p.max_tokens = cap;
  p.mode = mode;
  return p;
}

// Both implementations, so every property is checked on each.
using Impl = ClusterResult (*)(const at::Tensor&, const ClusterParams&);
ClusterResult ref(const at::Tensor& x, const ClusterParams& p) { return cluster_reference(x, p); }
ClusterResult fast(const at::Tensor& x, const ClusterParams& p) { return cluster_fast(x, p); }

struct TokenClusterImpls : ::testing::TestWithParam<Impl> {};

// A hard grouping drawn by hand on one image: one-hot masks from `assign` (token per patch), soft
// masks 0.1 on every other token and the rest on the patch's own, the given seeds, any density.
ClusterResult hand_made(const std::vector<int64_t>& assign, int64_t tokens, const std::vector<int64_t>& seeds) {
  const auto n = static_cast<int64_t>(assign.size());
  ClusterResult r;
  r.masks = at::one_hot(at::tensor(assign), tokens).to(at::kFloat).unsqueeze(0);
  r.soft_masks = r.masks * (1.0 - 0.1 * static_cast<double>(tokens)) + 0.1;  // rows sum to one
  r.token_valid = at::ones({1, tokens}, at::kBool);
  r.num_tokens = at::full({1}, tokens, at::kLong);
  r.seeds = at::tensor(seeds).unsqueeze(0);
  r.density = at::rand({1, n});
  r.score = at::rand({1, n});
  return r;
}

// A clean-up setting (an int field of ClusterParams, off at 0) is saved only when on and read back.
void expect_saved_only_when_on(ClusterParams p, int ClusterParams::*field, const char* key, int on) {
  p.*field = on;
  nlohmann::json j = p;
  EXPECT_EQ(j.at(key).get<int>(), on);
  EXPECT_EQ(j.get<ClusterParams>().*field, on);
  p.*field = 0;
  j = p;
  EXPECT_FALSE(j.contains(key));
}

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

TEST(TokenCluster, SplitIslandsGivesSeparateRegionsTokensOfTheirOwn) {
  // Background, two same-looking 3 x 3 squares in opposite corners, and one lone patch of the same
  // look in a third corner: one token for all three by look alone.
  const int side = 8, n = side * side;
  at::Tensor x = at::zeros({1, n, 4});
  x.select(2, 0).fill_(1.0);
  auto paint = [&](int r, int c) {
    x[0][r * side + c][0] = 0.0;
    x[0][r * side + c][1] = 1.0;
  };
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c)
      if ((r < 3 && c < 3) || (r >= 5 && c >= 5)) paint(r, c);
  paint(0, side - 1);
  TokenClusterOptions o;
  o.params = params(8);
  o.params.beta = 0.0f;
  o.params.bandwidth = 1.0f;
  o.params.stop_fraction = 0.0f;
  at::NoGradGuard ng;
  EXPECT_EQ(TokenCluster(o)->forward(x).num_tokens.item<int64_t>(), 2);
  o.params.split_islands = 3;
  ClusterResult r = TokenCluster(o)->forward(x);
  ASSERT_EQ(r.num_tokens.item<int64_t>(), 3);
  at::Tensor a = r.masks[0].argmax(1);
  const int64_t first = a[0].item<int64_t>(), second = a[n - 1].item<int64_t>();
  EXPECT_NE(first, second);
  for (int r0 = 0; r0 < 3; ++r0)
    for (int c0 = 0; c0 < 3; ++c0) {
      EXPECT_EQ(a[r0 * side + c0].item<int64_t>(), first);
      EXPECT_EQ(a[(r0 + 5) * side + c0 + 5].item<int64_t>(), second);
    }
  // The lone patch is below the threshold: it stays with its token's largest region (a tie of 9
  // and 9: the first found, the top-left square, keeps the token).
  EXPECT_EQ(a[side - 1].item<int64_t>(), first);
  EXPECT_EQ(a[3 * side].item<int64_t>(), a[4 * side + 4].item<int64_t>());  // background is one token
  // Masks stay one-hot, soft masks still sum to one per patch, the new token has a seed inside it.
  EXPECT_TRUE(r.masks.sum(2).eq(1).all().item<bool>());
  EXPECT_TRUE(at::allclose(r.soft_masks.sum(2), at::ones({1, n}), 1e-5, 1e-5));
  const int64_t new_seed = r.seeds[0][2].item<int64_t>();
  ASSERT_GE(new_seed, 0);
  EXPECT_EQ(a[new_seed].item<int64_t>(), 2);
  // Regions need the threshold's size; the cap bounds the count.
  o.params.split_islands = 10;
  EXPECT_EQ(TokenCluster(o)->forward(x).num_tokens.item<int64_t>(), 2);
  o.params.split_islands = 1;
  EXPECT_EQ(TokenCluster(o)->forward(x).num_tokens.item<int64_t>(), 4);
  o.params.max_tokens = 3;
  EXPECT_EQ(TokenCluster(o)->forward(x).num_tokens.item<int64_t>(), 3);
  o.params.split_islands = -1;
  EXPECT_THROW(o.params.validate(), setok::Error);
}

TEST(TokenCluster, SmallRegionsJoinTheirMostAlikeNeighbour) {
  // A 4 x 4 grid by hand: background 0, a 2 x 2 object 1, a lone patch 3 beside the object that
  // looks like it, a lone patch 2 in the far corner that looks more like the background than
  // like anything else, and a stray patch of the object's token (an island) in the bottom row
  // that also leans to the background.
  //   1 1 0 0
  //   1 1 0 0
  //   3 0 0 0
  //   0 0 1 2
  const std::vector<int64_t> assign{1, 1, 0, 0, 1, 1, 0, 0, 3, 0, 0, 0, 0, 0, 1, 2};
  const int64_t n = 16, c = 4;
  at::Tensor x = at::zeros({1, n, 3});
  for (int64_t p = 0; p < n; ++p) {
    const int64_t t = assign[static_cast<std::size_t>(p)];
    if (t == 0) x[0][p][0] = 1.0;
    if (t == 1) x[0][p][1] = 1.0;
    if (t == 2) x[0][p][0] = 1.0, x[0][p][2] = 0.5;
    if (t == 3) x[0][p][0] = 0.2, x[0][p][1] = 1.0;
  }
  x[0][14][0] = 0.6;                                             // the island
  const ClusterResult r = hand_made(assign, c, {10, 5, 15, 8});  // soft masks 0.7 / 0.1

  ClusterParams p = params(8);
  p.min_region_patches = 2;
  ClusterResult s = tidy_tokens(r, x, p);
  ASSERT_EQ(s.num_tokens.item<int64_t>(), 2);
  ASSERT_EQ(s.masks.size(2), 2);
  at::Tensor a = s.masks[0].argmax(1);
  EXPECT_EQ(a[8].item<int64_t>(), 1);                   // the look-alike beside the object joined the object
  EXPECT_EQ(a[15].item<int64_t>(), 0);                  // the corner patch joined the background
  EXPECT_EQ(a[14].item<int64_t>(), 0);                  // so did the object token's island, cut off from the rest
  EXPECT_EQ(s.masks[0].sum(0)[1].item<double>(), 5.0);  // the object: its 4 patches and the look-alike
  EXPECT_EQ(a[0].item<int64_t>(), 1);
  EXPECT_EQ(a[2].item<int64_t>(), 0);
  EXPECT_TRUE(at::equal(s.seeds[0], at::tensor(std::vector<int64_t>{10, 5})));  // survivors keep order and seeds
  EXPECT_TRUE(s.masks.sum(2).eq(1).all().item<bool>());
  EXPECT_TRUE(at::allclose(s.soft_masks.sum(2), at::ones({1, n})));
  EXPECT_NEAR(s.soft_masks[0][8][1].item<double>(), 0.1 + 0.7, 1e-6);  // the absorbed token's share came along
  // The island: its own share (0.7) went with it to the background, which also inherited the
  // corner token's (0.1); token 3's went to the object that took it.
  EXPECT_NEAR(s.soft_masks[0][14][0].item<double>(), 0.1 + 0.7 + 0.1, 1e-6);
  EXPECT_NEAR(s.soft_masks[0][14][1].item<double>(), 0.1, 1e-6);

  // Tokens grow as they absorb: the object (5 patches by then) is below 6 and joins the
  // background; at least one token always stays.
  p.min_region_patches = 6;
  EXPECT_EQ(tidy_tokens(r, x, p).num_tokens.item<int64_t>(), 1);
  p.min_region_patches = 4096;
  EXPECT_EQ(tidy_tokens(r, x, p).num_tokens.item<int64_t>(), 1);
  // Off (0 or 1), or soft mode: unchanged.
  p.min_region_patches = 1;
  EXPECT_EQ(tidy_tokens(r, x, p).num_tokens.item<int64_t>(), 4);
  p.min_region_patches = 2;
  p.mode = ClusterMode::kSoft;
  EXPECT_EQ(tidy_tokens(r, x, p).num_tokens.item<int64_t>(), 4);
  // Saved only when on, read back, and checked.
  p.mode = ClusterMode::kHard;
  expect_saved_only_when_on(p, &ClusterParams::min_region_patches, "min_region_patches", 2);
  p.min_region_patches = -1;
  EXPECT_THROW(p.validate(), setok::Error);
  EXPECT_THROW(absorb_small_regions(r, at::zeros({1, 9, 3}), 2), setok::Error);  // features do not match
}

TEST(TokenCluster, EdgePatchesMoveToTheNeighbourTheyResembleMost) {
  // A 4 x 4 grid by hand: background 0, an object 1, a one-patch token 2 in the corner.
  //   1 1 0 0     patches 2, 9 and 13 look like the object; patch 5 of the object looks like
  //   1 1 0 0     the background; the corner token's only patch looks more like the background
  //   1 0 0 0     than like itself (it has nothing else). A token may take a patch only if it
  //   1 0 0 2     holds two of the patch's 4-neighbours.
  const std::vector<int64_t> assign{1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2};
  const int64_t n = 16, c = 3;
  at::Tensor x = at::zeros({1, n, 3});
  for (int64_t p = 0; p < n; ++p) x[0][p][assign[static_cast<std::size_t>(p)] == 1 ? 1 : 0] = 1.0;
  for (int64_t p : {2, 9, 13}) x[0][p][0] = 0.3, x[0][p][1] = 1.0;
  x[0][5][0] = 1.0, x[0][5][1] = 0.1;
  x[0][15][0] = 0.6, x[0][15][2] = 0.8;
  const ClusterResult r = hand_made(assign, c, {10, 0, 15});  // soft masks 0.8 / 0.1

  ClusterParams p = params(8);
  p.edge_passes = 1;
  ClusterResult one = tidy_tokens(r, x, p);
  at::Tensor a = one.masks[0].argmax(1);
  EXPECT_EQ(a[9].item<int64_t>(), 1);   // a look-alike with two object neighbours joined the object
  EXPECT_EQ(a[5].item<int64_t>(), 0);   // the object's odd patch joined the background
  EXPECT_EQ(a[2].item<int64_t>(), 0);   // a look-alike with one object neighbour stays
  EXPECT_EQ(a[13].item<int64_t>(), 0);  // one object neighbour before the pass
  EXPECT_EQ(a[15].item<int64_t>(), 2);  // a token keeps its last patch
  EXPECT_EQ(a[10].item<int64_t>(), 0);
  EXPECT_EQ(a[14].item<int64_t>(), 0);
  EXPECT_EQ(one.num_tokens.item<int64_t>(), 3);
  EXPECT_TRUE(at::equal(one.seeds, r.seeds));
  EXPECT_TRUE(one.masks.sum(2).eq(1).all().item<bool>());
  EXPECT_TRUE(at::allclose(one.soft_masks.sum(2), at::ones({1, n})));
  EXPECT_NEAR(one.soft_masks[0][9][1].item<double>(), 0.9, 1e-6);  // its soft mass came along
  EXPECT_NEAR(one.soft_masks[0][9][0].item<double>(), 0.0, 1e-6);
  // A second pass: patch 13 now has two object neighbours (9 and 12) and joins; then nothing moves.
  p.edge_passes = 2;
  at::Tensor b = tidy_tokens(r, x, p).masks[0].argmax(1);
  EXPECT_EQ(b[13].item<int64_t>(), 1);
  EXPECT_EQ(b[2].item<int64_t>(), 0);
  EXPECT_EQ(b[5].item<int64_t>(), 0);
  EXPECT_EQ(at::one_hot(b, c).sum(0)[1].item<int64_t>(), 7);  // 0, 1, 4, 8, 12 and the two look-alikes
  p.edge_passes = 64;
  EXPECT_TRUE(at::equal(tidy_tokens(r, x, p).masks[0].argmax(1), b));
  // Two neighbours are not enough without the likeness: a background-like patch 13 stays.
  at::Tensor plain = x.clone();
  plain[0][13][0] = 1.0, plain[0][13][1] = 0.0;
  EXPECT_EQ(tidy_tokens(r, plain, p).masks[0].argmax(1)[13].item<int64_t>(), 0);
  // Off, or soft mode: unchanged.
  p.edge_passes = 0;
  EXPECT_TRUE(at::equal(tidy_tokens(r, x, p).masks, r.masks));
  p.edge_passes = 2;
  p.mode = ClusterMode::kSoft;
  EXPECT_TRUE(at::equal(tidy_tokens(r, x, p).masks, r.masks));
  // Saved only when on, read back, and checked.
  p.mode = ClusterMode::kHard;
  expect_saved_only_when_on(p, &ClusterParams::edge_passes, "edge_passes", 2);
  p.edge_passes = -1;
  EXPECT_THROW(p.validate(), setok::Error);
  p.edge_passes = 65;
  EXPECT_THROW(p.validate(), setok::Error);
  EXPECT_THROW(refine_edges(r, at::zeros({1, 9, 3}), 1), setok::Error);  // features do not match
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

TEST(DpcKnn, FixedCountBaselineSplitsBlobsIntoExactlyKClusters) {
  auto blobs = setok::test::make_blobs({40, 25, 35}, 64, 0.05, 12);
  at::Tensor assign = dpc_knn(blobs.x.unsqueeze(0), 3)[0];
  EXPECT_TRUE(recovers_exactly(at::one_hot(assign, 3), blobs.labels, 3));
  // Asked for more clusters than there are blobs, it still returns exactly that many.
  at::Tensor six = dpc_knn(blobs.x.unsqueeze(0), 6)[0];
  EXPECT_EQ(std::get<0>(at::_unique(six)).numel(), 6);
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
