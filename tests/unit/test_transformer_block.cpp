// Masked multi-head attention and the pre-norm Transformer blocks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/nn/attention.h"
#include "core/nn/rope2d.h"
#include "core/nn/state_dict.h"
#include "core/nn/transformer_block.h"

using namespace setok;

TEST(Transformer, FullyMaskedQueriesGiveZerosNotNaN) {
  at::manual_seed(3);
  auto q = at::randn({1, 2, 3, 4}).requires_grad_();
  auto k = at::randn({1, 2, 5, 4}), v = at::randn({1, 2, 5, 4});
  auto mask = at::ones({1, 1, 3, 5}, at::kBool);
  mask.select(2, 1).fill_(false);  // query 1 may attend to nothing
  auto out = nn::masked_attention(q, k, v, mask);
  EXPECT_TRUE(out.select(2, 1).eq(0).all().item<bool>());
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  out.sum().backward();
  EXPECT_TRUE(at::isfinite(q.grad()).all().item<bool>());
  EXPECT_TRUE(q.grad().select(2, 1).eq(0).all().item<bool>());
}

TEST(Transformer, AttentionMaskConfinesInformation) {
  at::manual_seed(4);
  nn::TransformerBlock block(nn::TransformerBlockOptions(16, 2));
  auto x = at::randn({1, 6, 16});
  auto group = at::tensor({0, 0, 0, 1, 1, 1});
  auto mask = at::eq(group.view({6, 1}), group.view({1, 6})).unsqueeze(0);  // [1, 6, 6]
  auto rope = nn::rope2d_grid_table(2, 3, 8);
  auto y = block->forward(x, mask, rope);
  auto x2 = x.clone();
  x2[0][4] += 1.0;                                        // change a token of group 1
  auto y2 = block->forward(x2, mask.unsqueeze(1), rope);  // [B, 1, N, N] is accepted too
  EXPECT_TRUE(at::allclose(y.narrow(1, 0, 3), y2.narrow(1, 0, 3), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(y.narrow(1, 3, 3), y2.narrow(1, 3, 3)));
}

TEST(Transformer, CrossAttentionIgnoresPaddedKeys) {
  at::manual_seed(5);
  nn::CrossAttentionBlock block(nn::CrossAttentionBlockOptions(16, 4).context_dim(8).self_attention(true));
  auto x = at::randn({2, 5, 16});
  auto ctx = at::randn({2, 3, 8});
  auto y = block->forward(x, ctx, at::ones({2, 3}, at::kBool));
  auto padded = at::cat({ctx, 100 * at::randn({2, 4, 8})}, 1);
  auto valid = at::cat({at::ones({2, 3}, at::kBool), at::zeros({2, 4}, at::kBool)}, 1);
  EXPECT_TRUE(at::allclose(block->forward(x, padded, valid), y, 1e-5, 1e-6));
  auto names = nn::state_dict(*block);
  EXPECT_TRUE(names.count("cross_attn.k.weight"));
  EXPECT_EQ(names.at("cross_attn.k.weight").sizes(), (std::vector<int64_t>{16, 8}));
}
