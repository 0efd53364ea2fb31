// The mask decoder's modules: shapes of every prompt mix, the refinement's identity start, saving
// and loading, its config's checks, and that it learns one mask.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "core/heads/mask_decoder.h"
#include "core/heads/mask_loss.h"
#include "core/heads/prompt_batch.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

namespace setok::heads {
namespace {

MaskDecoderConfig small_config() {
  MaskDecoderConfig c;
  c.feature_dim = 12;
  c.grid = 4;
  c.image_size = 32;
  c.width = 16;
  c.heads = 2;
  c.mlp_dim = 32;
  c.upscale1 = 8;
  c.upscale2 = 4;
  c.refine_channels = 4;
  c.language_dim = 10;
  return c;
}

PromptSample language_sample(std::int64_t tokens, std::int64_t words) {
  PromptSample s;
  s.request = at::randn({words, 20});
  s.visual = at::randn({tokens, 10});
  s.visual_input = at::randn({tokens, 10});
  s.assignment = at::arange(16, at::kLong).remainder(tokens);
  return s;
}

TEST(MaskDecoder, EveryPromptMixGivesMasksAndIouForEachImage) {
  at::manual_seed(0);
  MaskDecoderConfig c = small_config();
  MaskDecoder d(c);
  PromptSample clicks;
  clicks.points = {0.2f, 0.3f, 0.7f, 0.7f};
  clicks.labels = {kPositive, kNegative};
  PromptSample words = language_sample(3, 5);
  PromptSample dense;
  dense.dense = at::randn({c.low_res(), c.low_res()});
  Prompts p = collate_prompts({clicks, words, dense}, c);
  ASSERT_TRUE(p.points.defined());
  EXPECT_EQ(p.labels[1][0].item<std::int64_t>(), kPadPoint);  // the language sample has no points
  EXPECT_FALSE(p.language_valid[0].any().item<bool>());
  EXPECT_EQ(p.language_valid[1].sum().item<std::int64_t>(), 5);
  MaskPrediction out = d->forward(at::randn({3, 16, 12}), p);
  EXPECT_EQ(out.low_res.sizes(), (std::vector<std::int64_t>{3, 4, 16, 16}));
  EXPECT_EQ(out.iou.sizes(), (std::vector<std::int64_t>{3, 4}));
  ASSERT_TRUE(out.relevance.defined());
  EXPECT_EQ(out.relevance.size(0), 3);
  at::Tensor full = d->refine(out.low_res.narrow(1, 0, 1), at::rand({3, 3, 32, 32}), out.features);
  EXPECT_EQ(full.sizes(), (std::vector<std::int64_t>{3, 1, 32, 32}));
  EXPECT_TRUE(at::isfinite(full).all().item<bool>());
}

TEST(MaskDecoder, RefinementStartsAsTheUpsampledLogits) {
  MaskDecoder d(small_config());
  at::Tensor low = at::randn({2, 1, 16, 16});
  at::Tensor full = d->refine(low, at::rand({2, 3, 32, 32}), at::randn({2, 4, 16, 16}));
  at::Tensor up = at::upsample_bilinear2d(low, {32, 32}, false);
  EXPECT_TRUE(at::allclose(full, up, 1e-5, 1e-6));
}

TEST(MaskDecoder, SavedAndLoadedItAnswersTheSame) {
  at::manual_seed(1);
  test::TempDir dir;
  MaskDecoder d(small_config());
  save_mask_decoder(dir.path().string(), d);
  MaskDecoder e = load_mask_decoder(dir.path().string());
  d->eval();
  PromptSample s;
  s.points = {0.5f, 0.5f};
  s.labels = {kPositive};
  Prompts p = collate_prompts({s}, d->config());
  at::Tensor f = at::randn({1, 16, 12});
  EXPECT_TRUE(at::equal(d->forward(f, p).low_res, e->forward(f, p).low_res));
  EXPECT_THROW(load_mask_decoder((dir.path() / "none").string()), Error);
}

TEST(MaskDecoder, ConfigRefusesWhatCannotBeBuilt) {
  EXPECT_THROW(MaskDecoderConfig::from_json({{"width", 30}, {"heads", 4}}), Error);
  EXPECT_THROW(MaskDecoderConfig::from_json({{"depth", 0}}), Error);
  EXPECT_THROW(MaskDecoderConfig::from_json({{"width", "wide"}}), Error);
  MaskDecoderConfig c = MaskDecoderConfig::from_json(small_config().to_json());
  EXPECT_EQ(c.width, 16);
  EXPECT_EQ(c.language_dim, 10);
}

TEST(MaskDecoder, LearnsOneMaskFromOneClick) {
  at::manual_seed(2);
  MaskDecoderConfig c = small_config();
  c.language_dim = 0;
  MaskDecoder d(c);
  at::Tensor target = at::zeros({1, 1, 32, 32});
  target.narrow(2, 8, 12).narrow(3, 10, 14).fill_(1);
  PromptSample s;
  s.points = {0.5f, 0.45f};
  s.labels = {kPositive};
  PromptSample t = s;
  t.points.insert(t.points.end(), {0.1f, 0.1f});  // two clicks: the single mask is the one scored
  t.labels.push_back(kNegative);
  Prompts p = collate_prompts({t}, c);
  at::Tensor f = at::randn({1, 16, 12}), px = at::rand({1, 3, 32, 32});
  torch::optim::Adam opt(d->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int i = 0; i < 60; ++i) {
    MaskPrediction out = d->forward(f, p);
    at::Tensor loss = bce_dice(d->refine(out.low_res.narrow(1, 0, 1), px, out.features), target).mean();
    if (i == 0) first = loss.item<double>();
    last = loss.item<double>();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  EXPECT_LT(last, 0.3 * first);
  MaskPrediction out = d->forward(f, p);
  EXPECT_GT(mask_iou(d->refine(out.low_res.narrow(1, 0, 1), px, out.features), target).item<float>(), 0.9f);
}

TEST(MaskLoss, PerfectLogitsCostLittleAndIouCountsEmptyAsOne) {
  at::Tensor t = at::zeros({1, 1, 8, 8});
  t.narrow(2, 2, 4).narrow(3, 2, 4).fill_(1);
  at::Tensor good = (t * 2 - 1) * 20, bad = -good;
  EXPECT_LT(bce_dice(good, t).item<float>(), 0.01f);
  EXPECT_GT(bce_dice(bad, t).item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(mask_iou(good, t).item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(mask_iou(bad, t).item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(mask_iou(-at::ones({1, 1, 4, 4}), at::zeros({1, 1, 4, 4})).item<float>(), 1.0f);
}

TEST(PromptBatch, TokenCentroidsAndMaskLogits) {
  // A 2 × 2 grid: token 0 the left column, token 1 the right one.
  at::Tensor a = at::tensor({0, 1, 0, 1}, at::kLong);
  at::Tensor c = token_centroids(a, 2, 2, 2);
  EXPECT_FLOAT_EQ(c[0][0].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(c[1][0].item<float>(), 0.75f);
  EXPECT_FLOAT_EQ(c[0][1].item<float>(), 0.5f);
  at::Tensor m = at::zeros({8, 8});
  m.narrow(1, 0, 4).fill_(1);
  at::Tensor l = mask_to_logits(m, 2);
  EXPECT_FLOAT_EQ(l[0][0].item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(l[1][1].item<float>(), -10.0f);
}

}  // namespace
}  // namespace setok::heads
