// Moving weights between modules and tensor files: the tensors under a prefix.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/io/tensor_map.h"
#include "core/nn/state_dict.h"

using namespace setok;

TEST(StateDict, TakePrefixedMovesOutOnlyThatPrefixesTensors) {
  io::TensorMap all = {{"proj.weight", at::ones({2})},
                       {"token_head.fc1.weight", at::zeros({3})},
                       {"token_head.norm.bias", at::ones({4})},
                       {"token_headless", at::ones({1})}};
  const io::TensorMap head = nn::take_prefixed(all, "token_head.");
  ASSERT_EQ(head.size(), 2u);
  EXPECT_EQ(head.at("fc1.weight").numel(), 3);
  EXPECT_EQ(head.at("norm.bias").numel(), 4);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all.count("proj.weight") && all.count("token_headless"));
  EXPECT_TRUE(nn::take_prefixed(all, "semantic_head.").empty());
  EXPECT_EQ(all.size(), 2u);
}
