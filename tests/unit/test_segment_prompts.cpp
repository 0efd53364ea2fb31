// The mask decoder's training prompts: a clicks item whose first click starts from the SeTok token
// under it gets exactly that token's patches as its dense prompt, as the segmenter asks a lone click.
#include "core/train/segment_prompts.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/heads/token_under_click.h"

namespace setok::train {
namespace {

// 4 × 4 patches of a 32-px image: token 0 the left half, token 1 the top right quarter (the
// object), token 2 the bottom right quarter.
SegmentImage image() {
  SegmentImage im;
  im.features = at::randn({16, 8});
  im.pixels = at::zeros({3, 32, 32}, at::kByte);
  im.assignment = at::tensor({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2}, at::kLong);
  SegmentObject o;
  o.mask = at::zeros({32, 32}, at::kBool);
  o.mask.narrow(0, 0, 16).narrow(1, 16, 16).fill_(true);
  im.objects.push_back(o);
  return im;
}

PromptRates clicks_only(double click_token) {
  PromptRates r;
  r.language = r.box = r.token_start = 0;
  r.max_click_rounds = 0;
  r.click_token = click_token;
  return r;
}

TEST(SegmentPrompts, AFirstClickFromItsTokenGetsThatTokensPatchesAsTheDensePrompt) {
  const SegmentImage im = image();
  std::mt19937_64 rng(5);
  SegmentBatch b = draw_batch({{&im, &im.objects[0]}}, 8, clicks_only(1.0), rng);
  at::Tensor want = at::zeros({16, 16}, at::kBool);
  want.narrow(0, 0, 8).narrow(1, 8, 8).fill_(true);
  for (const SegmentItem& it : b.items) {
    EXPECT_EQ(it.kind, PromptKind::kClicks);
    ASSERT_EQ(it.prompt.points.size(), 2u);
    ASSERT_TRUE(it.prompt.dense.defined());
    EXPECT_TRUE(it.prompt.dense.gt(0).equal(want));  // the click is inside the object: token 1
    EXPECT_TRUE(it.prompt.dense.equal(
        heads::token_under_click_logits(im.assignment, 4, 4, it.prompt.points[0], it.prompt.points[1], 16)));
  }
  b = draw_batch({{&im, &im.objects[0]}}, 8, clicks_only(0.0), rng);
  for (const SegmentItem& it : b.items) EXPECT_FALSE(it.prompt.dense.defined());  // the click alone
}

}  // namespace
}  // namespace setok::train
