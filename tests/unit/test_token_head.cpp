// The token head: it starts as the identity.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/train/token_head.h"

using namespace setok::train;

TEST(TokenHead, StartsAsTheIdentity) {
  at::manual_seed(3);
  TokenHead head(24, 40);
  const at::Tensor x = at::randn({5, 24});
  EXPECT_TRUE(head->forward(x).equal(x));
}
