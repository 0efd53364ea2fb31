// bf16 autocast on CUDA as the training loops use it (core/train/autocast.h): the language model's
// forward under CudaAutocastScope against f32, on a GPU; skipped elsewhere.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "core/llm/llama_model.h"
#include "core/train/autocast.h"

using namespace setok;

TEST(MixedPrecision, LanguageModelUnderCudaAutocastMatchesF32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  llm::LlamaConfig c;
  c.vocab_size = 300;
  c.hidden_size = 128;
  c.intermediate_size = 344;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  torch::manual_seed(0);
  llm::LlamaForCausalLM lm(c);
  lm->to(at::kCUDA);
  at::Tensor ids = at::randint(0, c.vocab_size, {3, 24}, at::TensorOptions(at::kLong).device(at::kCUDA));
  at::Tensor valid = at::ones({3, 24}, at::TensorOptions(at::kBool).device(at::kCUDA));
  valid[2].narrow(0, 18, 6).fill_(false);  // a padded row, as batches of unequal length have

  auto run = [&](bool amp) {
    lm->zero_grad();
    at::Tensor logits;
    {
      train::CudaAutocastScope scope(amp);
      logits = lm->logits(lm->hidden(lm->embed(ids), nullptr, valid));
    }
    at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, 23).reshape({-1, c.vocab_size}).to(at::kFloat),
                                             ids.narrow(1, 1, 23).reshape({-1}));
    loss.backward();
    return std::make_pair(logits.to(at::kFloat).detach(), loss.item<double>());
  };
  auto [ref, loss_ref] = run(false);
  at::Tensor grad_ref = lm->lm_head->weight.grad().clone();
  auto [half, loss_half] = run(true);
  at::Tensor grad_half = lm->lm_head->weight.grad().clone();

  // Autocast was on inside the scope only, and the weights stayed f32.
  EXPECT_FALSE(train::cuda_autocast_enabled());
  EXPECT_EQ(lm->lm_head->weight.scalar_type(), at::kFloat);
  EXPECT_EQ(grad_half.scalar_type(), at::kFloat);
  // bf16 keeps 8 bits of mantissa: logits within a few percent of their range, the loss closer.
  const double range = ref.abs().max().item<double>();
  EXPECT_LT((half - ref).abs().max().item<double>(), 0.05 * range);
  EXPECT_NEAR(loss_half, loss_ref, 0.01 * loss_ref);
  EXPECT_TRUE(at::isfinite(grad_half).all().item<bool>());
  const double cos =
      (grad_half * grad_ref).sum().item<double>() / (grad_half.norm().item<double>() * grad_ref.norm().item<double>());
  EXPECT_GT(cos, 0.99);
}

// Only a thread-local switch: runs without a GPU too.
TEST(MixedPrecision, AutocastScopeSwitchesOffOnException) {
  EXPECT_FALSE(train::cuda_autocast_enabled());
  {
    train::CudaAutocastScope off(false);
    EXPECT_FALSE(train::cuda_autocast_enabled());
  }
  try {
    train::CudaAutocastScope scope(true);
    EXPECT_TRUE(train::cuda_autocast_enabled());
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(train::cuda_autocast_enabled());
}
