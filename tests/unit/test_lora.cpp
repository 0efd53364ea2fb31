// LoRA adapters on the LLaMA decoder: they start at the base model, only they train, and they merge exactly.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/llm/generate.h"
#include "core/llm/llama_model.h"
#include "core/llm/lora.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace setok;
using namespace setok::llm;
using setok::test::ids_of;
using setok::test::make;
using setok::test::tiny;

TEST(Lora, StartsAtTheBaseTrainsOnlyAdaptersAndMergesExactly) {
  at::manual_seed(0);
  LlamaForCausalLM m(tiny());
  m->eval();
  const at::Tensor ids = at::randint(3, 40, {2, 7}, at::kLong);
  at::Tensor base;
  {
    at::NoGradGuard g;
    base = m->forward(ids);
  }
  LoraOptions o = LoraOptions::from_json({{"rank", 4}, {"alpha", 8}, {"targets", {"q_proj", "v_proj", "down_proj"}}});
  io::TensorMap ad = add_lora(m, o);
  EXPECT_EQ(ad.size(), 2u * 3u * static_cast<std::size_t>(tiny().num_hidden_layers));
  EXPECT_TRUE(ad.count("model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(ad.count("model.layers.1.mlp.down_proj.lora_B.weight"));
  EXPECT_THROW(add_lora(m, o), Error);
  for (const auto& p : m->parameters()) EXPECT_FALSE(p.requires_grad());
  // B = 0: the adapted model is the base model.
  EXPECT_TRUE(at::allclose(m->forward(ids), base, 0, 0));
  // Gradients reach the adapters only (A through B once B moves; B at once).
  m->forward(ids).pow(2).mean().backward();
  for (const auto& [name, t] : ad) {
    ASSERT_TRUE(t.requires_grad()) << name;
    if (name.find("lora_B") != std::string::npos) {
      EXPECT_GT(t.grad().abs().sum().item<double>(), 0) << name;
    }
  }
  {
    at::NoGradGuard g;
    for (auto& [name, t] : ad)
      if (name.find("lora_B") != std::string::npos) t.normal_(0, 0.5);
  }
  at::Tensor adapted;
  {
    at::NoGradGuard g;
    adapted = m->forward(ids);
  }
  EXPECT_GT((adapted - base).abs().max().item<double>(), 1e-3);
  // Saved adapters load into fresh ones; merging gives the same function without adapters.
  io::TensorMap saved;
  for (auto& [name, t] : lora_tensors(m)) saved[name] = t.detach().clone();
  merge_lora(m);
  EXPECT_TRUE(lora_tensors(m).empty());
  {
    at::NoGradGuard g;
    EXPECT_TRUE(at::allclose(m->forward(ids), adapted, 1e-4, 1e-5));
  }
  at::manual_seed(0);
  LlamaForCausalLM fresh(tiny());
  fresh->eval();
  add_lora(fresh, o);
  load_lora(fresh, saved);
  {
    at::NoGradGuard g;
    EXPECT_TRUE(at::allclose(fresh->forward(ids), adapted, 1e-5, 1e-6));
  }
  EXPECT_THROW(LoraOptions::from_json({{"targets", {"lm_head"}}}), Error);
  EXPECT_THROW(LoraOptions::from_json({{"rank", 0}}), Error);
}
