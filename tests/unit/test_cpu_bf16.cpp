// bf16 autocast on the CPU (`cpu_bf16`, core/train/autocast.h): the models run under it where
// LibTorch 1.13's CPU autocast used to refuse them (affine norms fed bf16), stay within bf16's
// precision of f32, and the density-peak clustering gives exactly what it gives in f32.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/nn/precision.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_cluster.h"
#include "core/train/autocast.h"
#include "core/train/setok_trainer.h"
#include "tests/support/llama_autocast.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"

using namespace setok;

namespace {
double cosine(const at::Tensor& a, const at::Tensor& b) {
  return (a * b).sum().item<double>() / (a.norm().item<double>() * b.norm().item<double>());
}
}  // namespace

TEST(CpuBf16, ScopesSwitchAutocastOnAndOffAndNoAutocastRestoresIt) {
  EXPECT_FALSE(train::cpu_autocast_enabled());
  try {
    train::AutocastScope scope(at::kCPU, true);
    EXPECT_TRUE(train::cpu_autocast_enabled());
    EXPECT_FALSE(train::cuda_autocast_enabled());
    {
      nn::NoAutocast off;
      EXPECT_FALSE(train::cpu_autocast_enabled());
      at::Tensor a = at::randn({4, 4});
      EXPECT_EQ(at::mm(a, a).scalar_type(), at::kFloat);
    }
    EXPECT_TRUE(train::cpu_autocast_enabled());
    at::Tensor a = at::randn({4, 4});
    EXPECT_EQ(at::mm(a, a).scalar_type(), at::kBFloat16);
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(train::cpu_autocast_enabled());
  {
    train::AutocastScope off(at::kCPU, false);
    EXPECT_FALSE(train::cpu_autocast_enabled());
  }
}

TEST(CpuBf16, LanguageModelMatchesF32) {
  test::AutocastRuns r = test::llama_f32_and_autocast(at::kCPU);
  EXPECT_FALSE(train::cpu_autocast_enabled());  // on inside the scope only
  test::expect_autocast_matches_f32(r);
}

// The whole SeTok forward (convolutional stem with GroupNorm, encoder, cluster, merger,
// detokenizer and CNN decoder) and its backward run under CPU autocast, close to f32.
TEST(CpuBf16, SetokForwardAndBackwardMatchF32) {
  tokenizer::SetokConfig cfg = test::ToyScenes::tiny_model();
  cfg.vision.conv_stem = {8, 16, 16};
  torch::manual_seed(0);
  tokenizer::SetokModel m(cfg);
  test::ToyScenes data(4);
  std::vector<at::Tensor> px;
  for (std::size_t i = 0; i < 4; ++i) px.push_back(data.get(i).pixels);
  at::Tensor pixels = at::stack(px);

  auto run = [&](bool amp) {
    m->zero_grad();
    tokenizer::Tokenized tk;
    at::Tensor recon;
    {
      train::AutocastScope scope(at::kCPU, amp);
      tk = m->tokenize(pixels);
      recon = m->reconstruct(tk.tokens, tk.clusters.token_valid);
    }
    at::Tensor loss = (recon.to(at::kFloat) - pixels).abs().mean();
    loss.backward();
    return std::make_tuple(tk, recon.to(at::kFloat).detach(), loss.item<double>());
  };
  auto [tk_ref, rec_ref, loss_ref] = run(false);
  std::vector<at::Tensor> grad_ref;
  for (auto& p : m->parameters())
    if (p.grad().defined()) grad_ref.push_back(p.grad().clone().reshape({-1}));
  auto [tk_half, rec_half, loss_half] = run(true);
  std::vector<at::Tensor> grad_half;
  for (auto& p : m->parameters())
    if (p.grad().defined()) grad_half.push_back(p.grad().clone().reshape({-1}));

  // The clustering ran in f32 on bf16-rounded features: its masks are f32, and the features it
  // was given are within bf16's precision of f32's. (An untrained model's patches are close
  // together, so a few of them change token: end to end, only the loss and the gradient's
  // direction are compared.)
  EXPECT_EQ(tk_half.clusters.masks.scalar_type(), at::kFloat);
  EXPECT_GT(cosine(tk_half.features.to(at::kFloat), tk_ref.features), 0.999);
  EXPECT_GT(cosine(tk_half.tokens.to(at::kFloat), tk_ref.tokens), 0.95);
  // From the same tokens the detokenizer and its CNN decoder stay within bf16's precision.
  {
    at::NoGradGuard ng;
    at::Tensor same_ref = m->reconstruct(tk_ref.tokens, tk_ref.clusters.token_valid);
    train::AutocastScope scope(at::kCPU, true);
    at::Tensor same_half = m->reconstruct(tk_ref.tokens, tk_ref.clusters.token_valid).to(at::kFloat);
    EXPECT_LT((same_half - same_ref).abs().max().item<double>(), 0.05 * same_ref.abs().max().item<double>());
  }
  EXPECT_NEAR(loss_half, loss_ref, 0.02 * loss_ref);
  ASSERT_EQ(grad_half.size(), grad_ref.size());
  // Where the CPU has no bf16 unit (cpu_bf16_hardware() empty) oneDNN emulates bf16 on another
  // path, and on a 2-core AMD EPYC without avx512_bf16 the gradients' cosine came out 0.957 (0.98
  // or more with AVX512-BF16 or AMX): a looser bound there, still far from unrelated gradients.
  const double floor = setok::cpu_bf16_hardware().empty() ? 0.9 : 0.98;
  EXPECT_GT(cosine(at::cat(grad_half), at::cat(grad_ref)), floor)
      << "bf16 unit: '" << setok::cpu_bf16_hardware() << "'";
}

// Outside autocast nothing is cast: a model held in bf16 runs its norms in bf16 as before.
TEST(CpuBf16, AModelHeldInBf16RunsWithoutAutocast) {
  tokenizer::SetokConfig cfg = test::ToyScenes::tiny_model();
  torch::manual_seed(0);
  tokenizer::SetokModel m(cfg);
  m->to(at::kBFloat16);
  test::ToyScenes data(2);
  at::Tensor pixels = at::stack({data.get(0).pixels, data.get(1).pixels}).to(at::kBFloat16);
  at::NoGradGuard ng;
  tokenizer::Tokenized tk = m->tokenize(pixels);
  EXPECT_EQ(tk.features.scalar_type(), at::kBFloat16);
  EXPECT_EQ(tk.tokens.scalar_type(), at::kBFloat16);
  EXPECT_EQ(m->reconstruct(tk.tokens, tk.clusters.token_valid).scalar_type(), at::kBFloat16);
}

// bf16 distances would tie where f32 ones do not: the clustering switches autocast off.
TEST(CpuBf16, ClusteringUnderAutocastIsExactlyTheF32Clustering) {
  at::manual_seed(3);
  at::Tensor centres = at::randn({5, 24});
  at::Tensor x = centres.index_select(0, at::randint(0, 5, {2 * 64}, at::kLong)).reshape({2, 64, 24}) +
                 0.3 * at::randn({2, 64, 24});
  tokenizer::ClusterParams p;
  p.max_tokens = 8;
  p.beta = 0.0f;
  p.bandwidth = 0.5f;
  tokenizer::ClusterResult ref = tokenizer::cluster_reference(x, p, at::Tensor());
  tokenizer::ClusterResult fast_ref = tokenizer::cluster_fast(x, p);
  train::AutocastScope scope(at::kCPU, true);
  tokenizer::ClusterResult got = tokenizer::cluster_reference(x, p, at::Tensor());
  tokenizer::ClusterResult fast = tokenizer::cluster_fast(x, p);
  EXPECT_TRUE(at::equal(got.num_tokens, ref.num_tokens));
  EXPECT_TRUE(at::equal(got.masks, ref.masks));
  EXPECT_TRUE(at::equal(got.soft_masks, ref.soft_masks));
  EXPECT_TRUE(at::equal(fast.masks, fast_ref.masks));
  EXPECT_GE(ref.num_tokens.min().item<std::int64_t>(), 2);  // a real grouping, not one token
}

// The trainer's switch: a short run learns as the f32 run does.
TEST(CpuBf16, SetokTrainingLearnsAsF32Does) {
  auto run = [](bool amp) {
    test::TempDir d;
    test::ToyScenes data(64);
    train::SetokTrainConfig c;
    c.model = test::ToyScenes::tiny_model();
    c.out = d / "run";
    c.batch_size = 8;
    c.steps = 30;
    c.warmup_steps = 2;
    c.lr = 3e-3;
    c.log_every = 1;
    c.checkpoint_every = 0;
    c.cpu_bf16 = amp;
    c.text.dim(32).layers(1).heads(2);
    std::vector<double> rec;
    train::ProgressWriter p(train::ProgressMode::kNone, [&](const nlohmann::json& e) {
      if (e["event"] == "step") rec.push_back(e["loss_rec"].get<double>());
    });
    train::train_setok(c, "", p, &data);
    return rec;
  };
  std::vector<double> f32 = run(false), bf16 = run(true);
  ASSERT_EQ(bf16.size(), 30u);
  ASSERT_EQ(f32.size(), 30u);
  const double first = (bf16[0] + bf16[1] + bf16[2]) / 3, last = (bf16[27] + bf16[28] + bf16[29]) / 3;
  const double last_f32 = (f32[27] + f32[28] + f32[29]) / 3;
  EXPECT_LT(last, 0.8 * first) << "reconstruction loss falls: " << first << " -> " << last;
  EXPECT_NEAR(last, last_f32, 0.1 * last_f32);
}
