#pragma once
// A 2-layer LLaMA run once in f32 and once under bf16 autocast on one device, for the CPU and GPU
// mixed-precision tests: logits, loss and the head's gradient of each run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <utility>

#include "core/llm/llama_model.h"
#include "core/train/autocast.h"

namespace setok::test {

struct AutocastRuns {
  at::Tensor logits_f32, logits_bf16;  // both as f32
  at::Tensor grad_f32, grad_bf16;      // lm_head.weight's gradient
  double loss_f32 = 0, loss_bf16 = 0;
  at::ScalarType logits_dtype_bf16 = at::kFloat;  // what autocast's logits were before the cast
  at::ScalarType weight_dtype = at::kFloat;       // the master weights after both runs
};

inline AutocastRuns llama_f32_and_autocast(at::DeviceType device) {
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
  lm->to(device);
  auto opts = at::TensorOptions().device(device);
  at::Tensor ids = at::randint(0, c.vocab_size, {3, 24}, opts.dtype(at::kLong));
  at::Tensor valid = at::ones({3, 24}, opts.dtype(at::kBool));
  valid[2].narrow(0, 18, 6).fill_(false);  // a padded row, as batches of unequal length have

  AutocastRuns r;
  auto run = [&](bool amp) {
    lm->zero_grad();
    at::Tensor logits;
    {
      train::AutocastScope scope(device, amp);
      logits = lm->logits(lm->hidden(lm->embed(ids), nullptr, valid));
    }
    if (amp) r.logits_dtype_bf16 = logits.scalar_type();
    at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, 23).reshape({-1, c.vocab_size}).to(at::kFloat),
                                             ids.narrow(1, 1, 23).reshape({-1}));
    loss.backward();
    return std::make_pair(logits.to(at::kFloat).detach(), loss.item<double>());
  };
  std::tie(r.logits_f32, r.loss_f32) = run(false);
  r.grad_f32 = lm->lm_head->weight.grad().clone();
  std::tie(r.logits_bf16, r.loss_bf16) = run(true);
  r.grad_bf16 = lm->lm_head->weight.grad().clone();
  r.weight_dtype = lm->lm_head->weight.scalar_type();
  return r;
}

// bf16 keeps 8 bits of mantissa: logits within a few percent of their range, the loss closer, the
// head's gradient pointing the same way; the master weights and their gradient stay f32.
inline void expect_autocast_matches_f32(const AutocastRuns& r) {
  EXPECT_EQ(r.logits_dtype_bf16, at::kBFloat16);
  EXPECT_EQ(r.weight_dtype, at::kFloat);
  EXPECT_EQ(r.grad_bf16.scalar_type(), at::kFloat);
  EXPECT_LT((r.logits_bf16 - r.logits_f32).abs().max().item<double>(), 0.05 * r.logits_f32.abs().max().item<double>());
  EXPECT_NEAR(r.loss_bf16, r.loss_f32, 0.01 * r.loss_f32);
  EXPECT_TRUE(at::isfinite(r.grad_bf16).all().item<bool>());
  const double cos = (r.grad_bf16 * r.grad_f32).sum().item<double>() /
                     (r.grad_bf16.norm().item<double>() * r.grad_f32.norm().item<double>());
  EXPECT_GT(cos, 0.99);
}

}  // namespace setok::test
