// Generation's bookkeeping: the order tokens are written in, and which state writes which token.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/mllm/generation_request.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"
#include "core/train/generation_task.h"

using namespace setok;

namespace {

// A descriptor with only the centroid (x, y in [-1, 1]) and the root of the area fraction set.
at::Tensor descriptor(float x, float y, float root_area) {
  at::Tensor d = at::zeros({tokenizer::kGeometryDims});
  d[tokenizer::kGeometryCentre] = x;
  d[tokenizer::kGeometryCentre + 1] = y;
  d[13] = root_area;
  return d;
}

}  // namespace

TEST(GenerationOrder, LargestFirstThenByThirdsAndLeftToRight) {
  at::Tensor d = at::stack({
      descriptor(0.5f, 0.8f, 0.2f),    // 0: bottom right
      descriptor(-0.5f, -0.8f, 0.3f),  // 1: top left
      descriptor(0.0f, 0.0f, 0.9f),    // 2: the background
      descriptor(0.6f, -0.7f, 0.2f),   // 3: top right
      descriptor(-0.7f, 0.9f, 0.1f),   // 4: bottom left
      descriptor(0.1f, 0.1f, 0.25f),   // 5: middle
  });
  at::Tensor order = mllm::generation_order(d);
  EXPECT_EQ(std::vector<int64_t>(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + 6),
            (std::vector<int64_t>{2, 1, 3, 5, 4, 0}));
  EXPECT_EQ(mllm::generation_order(at::zeros({0, tokenizer::kGeometryDims})).numel(), 0);
  EXPECT_THROW(mllm::generation_order(at::zeros({3, 10})), Error);
}

TEST(GenerationOrder, RequestsAndTheNullPrompt) {
  EXPECT_EQ(mllm::generation_request("a red star"), "Generate an image: a red star");
  EXPECT_NE(mllm::null_generation_request().find("[Null]"), std::string::npos);
}

TEST(GenerationBatch, EachTokenIsWrittenByTheStateBeforeIt) {
  std::vector<train::GenerationTarget> t(3);
  t[0].start = 5;
  t[0].tokens = at::arange(3 * 4, at::kFloat).view({3, 4});  // 3 tokens at 5, 6, 7
  // t[1]: not a generation example
  t[2].start = 8;
  t[2].tokens = at::ones({4, 4});  // 4 tokens at 8..11, of which 8 and 9 fit a length of 10
  train::GenerationBatch b = train::generation_batch(t, 10, at::kCPU);
  ASSERT_FALSE(b.empty());
  auto v = [](const at::Tensor& x) {
    return std::vector<int64_t>(x.data_ptr<int64_t>(), x.data_ptr<int64_t>() + x.numel());
  };
  EXPECT_EQ(v(b.condition_index), (std::vector<int64_t>{4, 5, 6, 27, 28}));
  // [Img] and every visual token but each image's last say "go on" (none past the sequence's end).
  EXPECT_EQ(v(b.continue_index), (std::vector<int64_t>{4, 5, 6, 27, 28}));
  EXPECT_EQ(b.targets.sizes().vec(), (std::vector<int64_t>{5, 4}));
  EXPECT_TRUE(at::equal(b.targets.narrow(0, 0, 3), t[0].tokens));
  EXPECT_TRUE(train::generation_batch(std::vector<train::GenerationTarget>(2), 10, at::kCPU).empty());
}

TEST(GenerationBatch, WritingOrderMovesThePatchMapWithTheTokens) {
  mllm::VisualTokens raw;
  raw.embeds = at::arange(3, at::kFloat).view({3, 1}).expand({3, 2}).contiguous();
  raw.geometry = at::stack({descriptor(0.5f, 0.5f, 0.1f), descriptor(0, 0, 0.9f), descriptor(-0.5f, -0.5f, 0.2f)});
  raw.assignment = at::tensor({0, 1, 1, 2}, at::kLong);
  mllm::VisualTokens o = train::in_generation_order(raw);
  EXPECT_TRUE(at::equal(o.embeds.select(1, 0), at::tensor({1.0f, 2.0f, 0.0f})));
  // Patch p fed token raw.assignment[p]; that token's new index is its rank in the order.
  EXPECT_TRUE(at::equal(o.assignment, at::tensor({2, 0, 0, 1}, at::kLong)));
  EXPECT_EQ(train::packed_tokens(o).size(1), 2 + tokenizer::kGeometryDims);
}
