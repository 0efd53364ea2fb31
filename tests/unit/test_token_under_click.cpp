// The dense prompt a lone click gets: the patches of the SeTok token under it, and nothing else.
#include "core/heads/token_under_click.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace setok::heads {
namespace {

// 4 × 4 patches: token 0 the left half, token 1 the top right quarter, token 2 the bottom right
// quarter except one patch without a token.
at::Tensor assignment() { return at::tensor({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, -1}, at::kLong); }

TEST(TokenUnderClick, MarksExactlyThePatchesOfTheTokenUnderTheClick) {
  const at::Tensor a = assignment();
  // A click at x 0.8, y 0.1 lands in patch (row 0, column 3): token 1.
  at::Tensor l = token_under_click_logits(a, 4, 4, 0.8f, 0.1f, 8);
  ASSERT_EQ(l.sizes(), (at::IntArrayRef{8, 8}));
  at::Tensor want = at::zeros({8, 8}, at::kBool);
  want.narrow(0, 0, 4).narrow(1, 4, 4).fill_(true);
  EXPECT_TRUE(l.gt(0).equal(want));
  EXPECT_GT(l.abs().min().item<float>(), 5.0f);  // saturated, as a confident previous mask
  // The left half: token 0, 8 of the 16 patches.
  EXPECT_EQ(token_under_click_logits(a, 4, 4, 0.1f, 0.9f, 4).gt(0).sum().item<int>(), 8);
}

TEST(TokenUnderClick, ClampsTheEdgesAndGivesNothingWhereNoTokenIs) {
  const at::Tensor a = assignment();
  // x = 1 is the right edge itself: the last column, not past it (patch (3, 3) has no token).
  EXPECT_EQ(token_under_click_logits(a, 4, 4, 1.0f, 1.0f, 4).gt(0).sum().item<int>(), 0);
  EXPECT_EQ(token_under_click_logits(a, 4, 4, 1.0f, 0.0f, 4).gt(0).sum().item<int>(), 4);    // token 1
  EXPECT_EQ(token_under_click_logits(a, 4, 4, 0.74f, 0.74f, 4).gt(0).sum().item<int>(), 3);  // token 2
}

}  // namespace
}  // namespace setok::heads
