// The concept loss (Eq. 5–7), and which token stands for each object.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/train/concept_loss.h"

using namespace setok::train;

TEST(ConceptLoss, IsLowWhenTokensMatchTheirPromptsAndHighOtherwise) {
  at::Tensor texts = at::eye(3);
  at::Tensor labels = at::tensor({0, 1, 2, 1}, at::kLong);
  at::Tensor good = at::one_hot(labels, 3).to(at::kFloat);
  at::Tensor bad = at::one_hot((labels + 1) % 3, 3).to(at::kFloat);
  at::Tensor scale = at::scalar_tensor(10.0);
  ConceptLoss g = concept_contrastive_loss(good, texts, labels, scale);
  ConceptLoss b = concept_contrastive_loss(bad, texts, labels, scale);
  EXPECT_DOUBLE_EQ(g.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(b.accuracy, 0.0);
  EXPECT_LT(g.loss.item<double>(), 0.01);
  EXPECT_GT(b.loss.item<double>(), 10.0);
  // Object → token: the token covering most of the object.
  at::Tensor hard = at::one_hot(at::tensor({0, 0, 1, 1, 1, 2}, at::kLong), 3).to(at::kFloat);
  at::Tensor objects = at::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f}).view({2, 6});
  at::Tensor which = object_tokens(hard, at::ones({3}, at::kBool), objects);
  EXPECT_EQ(which[0].item<int64_t>(), 1);
  EXPECT_EQ(which[1].item<int64_t>(), 2);
}

TEST(ConceptLoss, OwnTokensAreThoseMatchingTheirObjectAtHalfIoU) {
  // Tokens: {0,1}, {2,3,4}, {5} on a 6-patch grid.
  at::Tensor hard = at::one_hot(at::tensor({0, 0, 1, 1, 1, 2}, at::kLong), 3).to(at::kFloat);
  at::Tensor objects = at::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f,   // patches 2, 3 of token 1's three: IoU 2/3
                                   0.f, 0.f, 0.f, 0.f, 0.f, 1.f,   // token 2 exactly: IoU 1
                                   0.f, 0.f, 0.f, 0.f, .6f, 0.f,   // patch 4 of token 1's three: IoU 1/3
                                   .4f, .4f, 0.f, 0.f, 0.f, 0.f})  // no patch at half: IoU 0 with token 0
                           .view({4, 6});
  at::Tensor which = object_tokens(hard, at::ones({3}, at::kBool), objects);
  ASSERT_EQ(which.numel(), 4);
  EXPECT_EQ(which[2].item<int64_t>(), 1);
  EXPECT_EQ(which[3].item<int64_t>(), 0);
  at::Tensor own = own_tokens(hard, which, objects);
  EXPECT_TRUE(own[0].item<bool>());
  EXPECT_TRUE(own[1].item<bool>());
  EXPECT_FALSE(own[2].item<bool>());
  EXPECT_FALSE(own[3].item<bool>());
}
