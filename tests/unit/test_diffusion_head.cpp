// The diffusion head and its schedule: the cosine schedule and its respacing, the posterior that an
// exact noise prediction makes exact, a head that learns a conditional distribution and samples
// it, the same seed drawing the same tokens, and guidance.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include "core/heads/diffusion_head.h"
#include "core/heads/diffusion_schedule.h"
#include "core/heads/token_diffusion.h"
#include "core/runtime/error.h"

using namespace setok::heads;

namespace {

at::Generator seeded(std::uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return g;
}

DiffusionHeadConfig toy_config() {
  DiffusionHeadConfig c;
  c.token_dim = 4;
  c.condition_dim = 2;
  c.width = 64;
  c.depth = 2;
  c.frequencies = 32;
  c.train_steps = 100;
  c.sample_steps = 20;
  return c;
}

// Condition (1, 0) means tokens near +target, (0, 1) near -target.
at::Tensor target() { return at::tensor({2.0f, -1.0f, 0.5f, 3.0f}); }

at::Tensor conditions(std::int64_t n) {
  at::Tensor c = at::zeros({n, 2});
  c.narrow(0, 0, n / 2).select(1, 0).fill_(1);
  c.narrow(0, n / 2, n - n / 2).select(1, 1).fill_(1);
  return c;
}

at::Tensor tokens_for(const at::Tensor& c) {
  return (c.select(1, 0) - c.select(1, 1)).unsqueeze(1) * target().unsqueeze(0) + 0.05 * at::randn({c.size(0), 4});
}

DiffusionHead trained_toy_head() {
  at::manual_seed(0);
  DiffusionHead head(toy_config());
  at::Tensor all = tokens_for(conditions(512));
  head->fit_normalisation(all);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(3e-3));
  at::Generator g = seeded(1);
  for (int step = 0; step < 400; ++step) {
    at::Tensor c = conditions(64);
    at::Tensor loss = diffusion_loss(*head, tokens_for(c), c, 4, g);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  head->eval();
  return head;
}

}  // namespace

TEST(DiffusionSchedule, CosineScheduleAndItsRespacing) {
  DiffusionSchedule s = DiffusionSchedule::cosine(1000);
  ASSERT_EQ(s.steps(), 1000);
  EXPECT_GT(s.alpha_cumprod(0), 0.999);
  EXPECT_LT(s.alpha_cumprod(999), 1e-4);
  for (int i = 1; i < 1000; ++i) ASSERT_LT(s.alpha_cumprod(i), s.alpha_cumprod(i - 1));
  DiffusionSchedule r = s.respaced(50);
  ASSERT_EQ(r.steps(), 50);
  EXPECT_EQ(r.timestep(0), 0);
  EXPECT_EQ(r.timestep(49), 999);
  for (int i = 0; i < 50; ++i) EXPECT_DOUBLE_EQ(r.alpha_cumprod(i), s.alpha_cumprod(r.timestep(i)));
  EXPECT_EQ(s.respaced(1000).timestep(500), 500);
  EXPECT_THROW(s.respaced(0), setok::Error);
  EXPECT_THROW(s.respaced(1001), setok::Error);
  EXPECT_THROW(DiffusionSchedule::cosine(1), setok::Error);
}

TEST(DiffusionSchedule, AnExactNoisePredictionGivesTheTruePosterior) {
  DiffusionSchedule s = DiffusionSchedule::cosine(100);
  at::manual_seed(3);
  at::Tensor x0 = at::randn({6, 5}), noise = at::randn({6, 5});
  at::Tensor t = at::tensor({0, 1, 10, 50, 98, 99}, at::kLong);
  at::Tensor x_t = s.add_noise(x0, noise, t);
  const double a = s.alpha_cumprod(50);
  EXPECT_TRUE(at::allclose(x_t[3], std::sqrt(a) * x0[3] + std::sqrt(1 - a) * noise[3], 1e-5, 1e-6));
  at::Tensor exact = at::cat({noise, at::zeros({6, 5})}, 1);
  auto p = s.posterior(exact, x_t, t);
  EXPECT_TRUE(at::allclose(p.x0, x0, 1e-3, 1e-3));
  // Bounds clamp the predicted x0 before the mean is formed.
  auto clamped = s.posterior(exact, x_t, t, at::full({5}, -0.1), at::full({5}, 0.1));
  EXPECT_LE(clamped.x0.abs().max().item<double>(), 0.1 + 1e-6);
  // The loss of an exact ε is the bound alone, which is the smallest where the variance is right.
  at::Tensor l = s.loss(exact, x0, x_t, noise, t);
  EXPECT_TRUE(at::isfinite(l).all().item<bool>());
  at::Tensor worse = at::cat({noise + 0.5, at::zeros({6, 5})}, 1);
  EXPECT_TRUE((s.loss(worse, x0, x_t, noise, t) > l).all().item<bool>());
}

TEST(DiffusionHead, NewHeadPredictsNoNoiseAndConfigRoundTrips) {
  DiffusionHead head(toy_config());
  at::Tensor out = head->forward(at::randn({3, 4}), at::tensor({0, 5, 99}, at::kLong), at::randn({3, 2}));
  ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(out.abs().max().item<double>(), 0.0);
  EXPECT_EQ(DiffusionHeadConfig::from_json(toy_config().to_json()).to_json(), toy_config().to_json());
  nlohmann::json bad = toy_config().to_json();
  bad.erase("width");
  EXPECT_THROW(DiffusionHeadConfig::from_json(bad), setok::Error);
  bad = toy_config().to_json();
  bad["sample_steps"] = 1000;
  EXPECT_THROW(DiffusionHeadConfig::from_json(bad), setok::Error);
  EXPECT_THROW(head->forward(at::randn({3, 5}), at::zeros({3}, at::kLong), at::randn({3, 2})), setok::Error);
}

TEST(DiffusionHead, LearnsAConditionalDistributionAndSamplesIt) {
  DiffusionHead head = trained_toy_head();
  at::Tensor c = conditions(200);
  at::Tensor x = sample_tokens(*head, c, {}, {}, seeded(7));
  at::Tensor plus = x.narrow(0, 0, 100).mean(0), minus = x.narrow(0, 100, 100).mean(0);
  EXPECT_LT((plus - target()).abs().max().item<double>(), 0.3) << plus;
  EXPECT_LT((minus + target()).abs().max().item<double>(), 0.3) << minus;
  // Every sample lands near its own mode, none halfway.
  at::Tensor sign = (x * target()).sum(1);
  EXPECT_TRUE((sign.narrow(0, 0, 100) > 0).all().item<bool>());
  EXPECT_TRUE((sign.narrow(0, 100, 100) < 0).all().item<bool>());
}

TEST(DiffusionHead, SameSeedSameTokensAndGuidanceFollowsTheCondition) {
  DiffusionHead head = trained_toy_head();
  at::Tensor c = conditions(20);
  at::Tensor a = sample_tokens(*head, c, {}, {}, seeded(11)), b = sample_tokens(*head, c, {}, {}, seeded(11));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, sample_tokens(*head, c, {}, {}, seeded(12))));
  // Temperature 0 adds no noise after the start: samples sit closer to the mode.
  DiffusionSampling cold;
  cold.temperature = 0;
  at::Tensor x = sample_tokens(*head, c, {}, cold, seeded(11));
  EXPECT_LT((x.narrow(0, 0, 10) - target()).abs().mean().item<double>(),
            (a.narrow(0, 0, 10) - target()).abs().mean().item<double>() + 0.05);
  // Guidance against the opposite condition pushes past the mode, away from the null's.
  DiffusionSampling guided;
  guided.cfg = 3.0;
  at::Tensor null_c = at::flip(c, {1});
  at::Tensor g = sample_tokens(*head, c, null_c, guided, seeded(11));
  EXPECT_GT((g.narrow(0, 0, 10) * target()).sum(1).mean().item<double>(),
            (a.narrow(0, 0, 10) * target()).sum(1).mean().item<double>());
  EXPECT_THROW(sample_tokens(*head, c, {}, guided, seeded(11)), setok::Error);
  DiffusionSampling steps;
  steps.steps = 500;
  EXPECT_THROW(sample_tokens(*head, c, {}, steps, seeded(11)), setok::Error);
}
