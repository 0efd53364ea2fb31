// Parity with HuggingFace transformers itself: tiny random-weight LlamaForCausalLM and
// SiglipVisionModel folders written by save_pretrained (transformers 5.17, torch 2.11) and their
// outputs on fixed inputs, computed by transformers (tests/data/hf, made by
// scripts/hf_parity_fixtures.py). The LLaMA has grouped-query attention, linear RoPE scaling and
// the transformers-5 rope_parameters config; SigLIP has its attention-pooling head.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>

#include "core/io/safetensors.h"
#include "core/llm/generate.h"
#include "core/llm/llama_model.h"
#include "core/vision/siglip_encoder.h"

using namespace setok;

namespace {
const std::string kDir = std::string(SETOK_TEST_DATA) + "/hf";

// Largest difference relative to the reference's scale; f32 on both sides, so ~1e-6 is expected.
double rel_error(const at::Tensor& got, const at::Tensor& want) {
  EXPECT_EQ(got.sizes(), want.sizes());
  if (got.sizes() != want.sizes()) return 1.0;
  return (got.to(at::kFloat) - want).abs().max().item<double>() / (want.abs().max().item<double>() + 1e-12);
}
}  // namespace

TEST(HfParity, LlamaLogitsAndGreedyDecodingMatchTransformers) {
  io::TensorMap ref = io::load_safetensors(kDir + "/parity.safetensors");
  llm::LlamaForCausalLM m = llm::load_llama(kDir + "/llama-tiny");
  EXPECT_EQ(m->config().num_key_value_heads, 2);
  EXPECT_DOUBLE_EQ(m->config().rope_linear_factor, 2.0);
  EXPECT_DOUBLE_EQ(m->config().rope_theta, 5000.0);
  m->eval();
  c10::InferenceMode guard;
  const at::Tensor logits = m->forward(ref.at("llama.input_ids"));
  EXPECT_LT(rel_error(logits, ref.at("llama.logits")), 1e-4);
  // The logits are far from uniform (so a wrong model could not pass by accident).
  EXPECT_GT(ref.at("llama.logits").std().item<double>(), 0.5);

  const at::Tensor prompt = ref.at("llama.greedy_prompt");
  llm::KVCache cache = llm::KVCache::allocate(m->config(), 1, 32, at::TensorOptions());
  llm::SamplingOptions o;
  o.max_new_tokens = ref.at("llama.greedy_ids").size(1);
  llm::GenerateResult r =
      llm::generate(m, m->embed(prompt), cache, o, [](const std::vector<std::int64_t>&) { return std::string(); });
  const at::Tensor want = ref.at("llama.greedy_ids")[0];
  ASSERT_EQ(static_cast<std::int64_t>(r.tokens.size()), want.numel());
  for (std::int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(r.tokens[i], want[i].item<std::int64_t>()) << "token " << i;
}

TEST(HfParity, SiglipHiddenStatesAndPooledOutputMatchTransformers) {
  io::TensorMap ref = io::load_safetensors(kDir + "/parity.safetensors");
  vision::SiglipVisionEncoder enc = vision::load_siglip(kDir + "/siglip-tiny");
  enc->eval();
  c10::InferenceMode guard;
  vision::SiglipOutput out = enc->forward(ref.at("siglip.pixel_values"), /*output_hidden_states=*/true);
  EXPECT_LT(rel_error(out.last_hidden_state, ref.at("siglip.last_hidden_state")), 1e-4);
  ASSERT_TRUE(out.pooled.defined());
  EXPECT_LT(rel_error(out.pooled, ref.at("siglip.pooler_output")), 1e-4);
  // transformers' hidden_states[0] is the embeddings, [k] the output of layer k.
  ASSERT_EQ(out.hidden_states.size(), 2u);
  for (std::size_t k = 0; k < out.hidden_states.size(); ++k)
    EXPECT_LT(rel_error(out.hidden_states[k], ref.at("siglip.hidden_states." + std::to_string(k + 1))), 1e-4) << k;
}
