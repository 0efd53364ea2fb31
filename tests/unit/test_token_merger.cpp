// TokenMerger: concept masks + patch features -> one token per cluster (§2.1).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>

#include "core/nn/state_dict.h"
#include "core/tokenizer/token_merger.h"

using namespace setok;
using tokenizer::TokenMerger;
using tokenizer::TokenMergerOptions;

namespace {
// A tiny merger that runs fast: width 16, 2 heads (head width 8, RoPE-able).
TokenMergerOptions tiny() {
  return TokenMergerOptions().dim_in(12).dim(16).dim_out(10).inner_layers(2).inter_layers(2).heads(2);
}

// One-hot masks [N, C] from a cluster id per patch.
at::Tensor one_hot(const std::vector<int64_t>& ids, int64_t c, at::ScalarType dt = at::kFloat) {
  auto m = at::zeros({static_cast<int64_t>(ids.size()), c}, dt);
  for (std::size_t i = 0; i < ids.size(); ++i) m[i][ids[i]] = 1.0;
  return m;
}

// Soft masks [N, C] whose argmax is ids (rows sum to 1), padded to `pad` zero columns.
at::Tensor soft(const std::vector<int64_t>& ids, int64_t c, int64_t pad = 0, at::ScalarType dt = at::kFloat) {
  auto logits = at::randn({static_cast<int64_t>(ids.size()), c}, dt) * 0.3 + 3.0 * one_hot(ids, c, dt);
  auto m = at::softmax(logits, -1);
  return pad > 0 ? at::cat({m, at::zeros({m.size(0), pad}, dt)}, 1) : m;
}

at::Tensor valid_row(int64_t c, int64_t cap) {
  auto v = at::zeros({cap}, at::kBool);
  v.narrow(0, 0, c).fill_(true);
  return v;
}

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// 3 x 4 grid, 3 clusters.
const std::vector<int64_t> kIds = {0, 0, 1, 1, 0, 2, 1, 1, 2, 2, 2, 1};
}  // namespace

TEST(TokenMerger, MeanPoolOnlyIsThePerClusterMean) {
  at::manual_seed(0);
  TokenMerger merger(TokenMergerOptions().dim_in(12).mean_pool_only(true));
  EXPECT_EQ(count_parameters(*merger), 0);
  auto x = at::randn({1, 12, 12});
  auto m = one_hot(kIds, 3).unsqueeze(0);
  auto v = merger->forward(x, m, at::ones({1, 3}, at::kBool), 3, 4);
  ASSERT_EQ(v.sizes(), (std::vector<int64_t>{1, 3, 12}));
  for (int64_t c = 0; c < 3; ++c) {
    auto sum = at::zeros({12});
    int n = 0;
    for (std::size_t i = 0; i < kIds.size(); ++i)
      if (kIds[i] == c) sum += x[0][i], ++n;
    EXPECT_TRUE(at::allclose(v[0][c], sum / n, 1e-6, 1e-6)) << "cluster " << c;
  }
}

TEST(TokenMerger, PermutingClustersPermutesTokens) {
  at::manual_seed(1);
  TokenMerger merger(tiny());
  auto x = at::randn({1, 12, 12});
  auto m = soft(kIds, 3, /*pad=*/1).unsqueeze(0);  // [1, 12, 4], column 3 padding
  auto valid = valid_row(3, 4).unsqueeze(0);
  auto v = merger->forward(x, m, valid, 3, 4);
  auto perm = at::tensor({2, 3, 0, 1});  // moves the padding column into the middle too
  auto vp = merger->forward(x, m.index_select(2, perm), valid.index_select(1, perm), 3, 4);
  EXPECT_TRUE(at::allclose(vp, v.index_select(1, perm), 1e-5, 1e-6));
}

TEST(TokenMerger, PaddedTokensAreExactZeros) {
  at::manual_seed(2);
  for (auto o : {tiny(), tiny().inner_layers(0), tiny().inter_layers(0), tiny().mean_pool_only(true)}) {
    TokenMerger merger(o);
    auto m = soft(kIds, 3, /*pad=*/3).unsqueeze(0);
    auto v = merger->forward(at::randn({1, 12, 12}), m, valid_row(3, 6).unsqueeze(0), 3, 4);
    EXPECT_TRUE(v.narrow(1, 3, 3).eq(0).all().item<bool>());
    EXPECT_TRUE(v.narrow(1, 0, 3).abs().sum(-1).gt(0).all().item<bool>());
  }
}

TEST(TokenMerger, BatchGivesEachImageItsOwnResult) {
  at::manual_seed(3);
  TokenMerger merger(tiny());
  // Image 0 has 3 tokens, image 1 has 5; the batch pads image 0 to 5.
  const std::vector<int64_t> ids1 = {0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 1};
  auto x = at::randn({2, 12, 12});
  auto m0 = soft(kIds, 3), m1 = soft(ids1, 5);
  auto alone0 = merger->forward(x.narrow(0, 0, 1), m0.unsqueeze(0), at::ones({1, 3}, at::kBool), 3, 4);
  auto alone1 = merger->forward(x.narrow(0, 1, 1), m1.unsqueeze(0), at::ones({1, 5}, at::kBool), 3, 4);
  auto m = at::stack({at::cat({m0, at::zeros({12, 2})}, 1), m1});
  auto valid = at::stack({valid_row(3, 5), valid_row(5, 5)});
  auto v = merger->forward(x, m, valid, 3, 4);
  EXPECT_TRUE(at::allclose(v[0].narrow(0, 0, 3), alone0[0], 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(v[1], alone1[0], 1e-5, 1e-6));
}

TEST(TokenMerger, InnerLayersStayWithinTheirCluster) {
  at::manual_seed(4);
  TokenMerger merger(tiny().inter_layers(0));
  auto x = at::randn({1, 12, 12});
  auto m = one_hot(kIds, 3).unsqueeze(0);
  auto valid = at::ones({1, 3}, at::kBool);
  auto v = merger->forward(x, m, valid, 3, 4);
  auto x2 = x.clone();
  x2[0][5] += 2.0;  // patch 5 is in cluster 2
  auto v2 = merger->forward(x2, m, valid, 3, 4);
  EXPECT_TRUE(at::allclose(v2.narrow(1, 0, 2), v.narrow(1, 0, 2), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(v2[0][2], v[0][2]));
  // With the inter-cluster layers on, the change reaches every token.
  TokenMerger full(tiny());
  EXPECT_FALSE(at::allclose(full->forward(x2, m, valid, 3, 4)[0][0], full->forward(x, m, valid, 3, 4)[0][0]));
}

TEST(TokenMerger, PositionMattersOnlyWithPE) {
  at::manual_seed(5);
  auto x = at::randn({1, 12, 12});
  auto m = one_hot(kIds, 3).unsqueeze(0);
  auto valid = at::ones({1, 3}, at::kBool);
  // Patches 0 and 4 are both in cluster 0: swapping their features moves content, not membership.
  auto swap = at::arange(12);
  swap[0] = 4, swap[4] = 0;
  auto xs = x.index_select(1, swap);
  TokenMerger with_pe(tiny());
  EXPECT_FALSE(at::allclose(with_pe->forward(xs, m, valid, 3, 4), with_pe->forward(x, m, valid, 3, 4), 1e-4, 1e-5));
  TokenMerger no_pe(tiny().use_position(false));  // a cluster is then a set: order inside it is invisible
  EXPECT_TRUE(at::allclose(no_pe->forward(xs, m, valid, 3, 4), no_pe->forward(x, m, valid, 3, 4), 1e-5, 1e-6));
}

TEST(TokenMerger, OnlyTheAbsolutePositionTableTellsWhereAClusterIs) {
  // Every patch has the same feature; a 2 x 2 cluster sits at the top left or the bottom right of
  // a 4 x 4 grid, the rest is background. RoPE sees only offsets inside the cluster, and those are
  // the same in both places, so its token is the same; the absolute table tells the places apart.
  at::manual_seed(6);
  auto x = at::randn({1, 1, 12}).expand({1, 16, 12}).contiguous();
  std::vector<int64_t> top_left(16, 1), bottom_right(16, 1);
  for (int64_t i : {0, 1, 4, 5}) top_left[i] = 0;
  for (int64_t i : {10, 11, 14, 15}) bottom_right[i] = 0;
  auto valid = at::ones({1, 2}, at::kBool);
  auto token = [&](TokenMerger& m, const std::vector<int64_t>& ids) {
    return m->forward(x, one_hot(ids, 2).unsqueeze(0), valid, 4, 4)[0][0];
  };
  TokenMerger rope(tiny().inter_layers(0));
  EXPECT_TRUE(at::allclose(token(rope, top_left), token(rope, bottom_right), 1e-4, 1e-5));
  // With the table's layer at zero, the same weights give the same tokens as without it.
  TokenMerger absolute(tiny().inter_layers(0).absolute_position(true));
  EXPECT_GT(absolute->position_proj->weight.abs().sum().item<double>(), 0.0) << "drawn, not zero";
  EXPECT_FALSE(at::allclose(token(absolute, top_left), token(absolute, bottom_right), 1e-2, 1e-3));
  auto sd = nn::state_dict(*rope);
  sd["position_proj.weight"] = at::zeros_like(absolute->position_proj->weight);
  nn::load_state_dict(*absolute, sd);
  EXPECT_TRUE(at::allclose(token(absolute, top_left), token(rope, top_left), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(token(absolute, top_left), token(absolute, bottom_right), 1e-4, 1e-5));
  // The table itself: 64 columns, values in [-1, 1], a different row for every patch.
  at::Tensor t = tokenizer::absolute_position_table(4, 4, at::TensorOptions().dtype(at::kFloat));
  ASSERT_EQ(t.sizes(), (at::IntArrayRef{16, tokenizer::kAbsolutePositionWidth}));
  EXPECT_LE(t.abs().max().item<float>(), 1.0f);
  at::Tensor d = at::cdist(t, t) + at::eye(16) * 10;
  EXPECT_GT(d.min().item<float>(), 0.1f);
}

TEST(TokenMerger, GradientsReachFeaturesAndSoftMasks) {
  at::manual_seed(6);
  TokenMerger merger(tiny());
  merger->to(at::kDouble);
  auto x = at::randn({1, 12, 12}, at::kDouble).requires_grad_();
  auto m = soft(kIds, 3, 0, at::kDouble).unsqueeze(0).requires_grad_();
  auto valid = at::ones({1, 3}, at::kBool);
  auto w = at::randn({1, 3, 10}, at::kDouble);  // a fixed random readout makes a scalar loss
  auto loss = [&](const at::Tensor& xx, const at::Tensor& mm) {
    return (merger->forward(xx, mm, valid, 3, 4) * w).sum();
  };
  loss(x, m).backward();
  ASSERT_TRUE(x.grad().defined() && m.grad().defined());
  EXPECT_GT(m.grad().abs().sum().item<double>(), 0.0);
  at::NoGradGuard no_grad;
  const double eps = 1e-6;
  // Central differences on a few entries (small steps keep every patch's argmax cluster).
  for (auto [i, j] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {5, 7}, {11, 3}}) {
    auto xp = x.detach().clone(), xm = x.detach().clone();
    xp[0][i][j] += eps, xm[0][i][j] -= eps;
    const double fd = (loss(xp, m.detach()) - loss(xm, m.detach())).item<double>() / (2 * eps);
    EXPECT_NEAR(x.grad()[0][i][j].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "x " << i << "," << j;
  }
  for (auto [i, c] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {2, 1}, {8, 2}, {9, 0}}) {
    auto mp = m.detach().clone(), mn = m.detach().clone();
    mp[0][i][c] += eps, mn[0][i][c] -= eps;
    const double fd = (loss(x.detach(), mp) - loss(x.detach(), mn)).item<double>() / (2 * eps);
    EXPECT_NEAR(m.grad()[0][i][c].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "m " << i << "," << c;
  }
}

TEST(TokenMerger, AblationsRun) {
  at::manual_seed(7);
  auto x = at::randn({2, 12, 12});
  auto m = at::stack({soft(kIds, 3), soft(kIds, 3)});
  auto valid = at::ones({2, 3}, at::kBool);
  for (auto o : {tiny().inner_layers(0), tiny().inter_layers(0), tiny().inner_layers(0).inter_layers(0),
                 tiny().use_position(false)}) {
    TokenMerger merger(o);
    auto v = merger->forward(x, m, valid, 3, 4);
    EXPECT_EQ(v.sizes(), (std::vector<int64_t>{2, 3, 10}));
    EXPECT_TRUE(at::isfinite(v).all().item<bool>());
  }
}

TEST(TokenMerger, StateDictRoundTrip) {
  at::manual_seed(8);
  TokenMerger a(tiny()), b(tiny());
  auto x = at::randn({1, 12, 12});
  auto m = soft(kIds, 3).unsqueeze(0);
  auto valid = at::ones({1, 3}, at::kBool);
  auto sd = nn::state_dict(*a);
  EXPECT_TRUE(sd.count("inner.0.attn.q.weight"));
  EXPECT_TRUE(sd.count("inter.1.mlp.fc2.bias"));
  EXPECT_FALSE(a->forward(x, m, valid, 3, 4).equal(b->forward(x, m, valid, 3, 4)));
  nn::load_state_dict(*b, sd);
  EXPECT_TRUE(a->forward(x, m, valid, 3, 4).equal(b->forward(x, m, valid, 3, 4)));
}

TEST(TokenMerger, SmallPresetSize) {
  at::manual_seed(9);
  auto o = TokenMergerOptions::small();
  TokenMerger merger(o);
  const int64_t n = count_parameters(*merger);
  std::cout << "[ params   ] TokenMerger small: " << n << "\n";
  // 4 blocks of ~12·192² + projections in and out.
  EXPECT_GT(n, 1'500'000);
  EXPECT_LT(n, 2'500'000);
  // 27 × 27 grid, as from a 384 px SigLIP image at patch 14.
  auto ids = at::randint(0, 9, {729}).to(at::kLong);
  auto m = at::one_hot(ids, 9).to(at::kFloat).unsqueeze(0);
  auto v = merger->forward(at::randn({1, 729, 192}), m, at::ones({1, 9}, at::kBool), 27, 27);
  EXPECT_EQ(v.sizes(), (std::vector<int64_t>{1, 9, 128}));
  const auto p = TokenMergerOptions::paper();
  EXPECT_EQ(p.inner_layers(), 12);
  EXPECT_EQ(p.inter_layers(), 8);
  EXPECT_EQ(p.dim_out(), 512);
  EXPECT_EQ(p.dim_in(), 1152);
}
