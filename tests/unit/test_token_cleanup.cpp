// Token clean-up after clustering: split islands, small regions joining a neighbour, edges
// following the features (tidy_tokens and its steps), and their settings.
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
