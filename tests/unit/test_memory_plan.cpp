// `setok plan`'s counts against the modules themselves: the parameters of a LLaMA, a SigLIP layer
// and a whole SeTok from their configs alone, and the activations a LLaMA and a SigLIP keep for
// backward against what the allocator holds after their forward pass (a tiny size, on the CPU).
#include <gtest/gtest.h>
#include <malloc.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "core/llm/llama_model.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/memory_plan.h"
#include "core/vision/siglip_encoder.h"

using namespace setok;

namespace {

std::int64_t parameters(torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

double heap_bytes() {
  const struct mallinfo2 i = mallinfo2();
  return static_cast<double>(i.uordblks) + static_cast<double>(i.hblkhd);
}

llm::LlamaConfig small_llama() {
  llm::LlamaConfig c;
  c.vocab_size = 100, c.hidden_size = 128, c.intermediate_size = 344, c.num_hidden_layers = 3;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.max_position_embeddings = 256;
  return c;
}

}  // namespace

TEST(MemoryPlan, ParametersFromTheConfigsAlone) {
  llm::LlamaConfig lc = small_llama();
  llm::LlamaForCausalLM llama(lc);
  EXPECT_EQ(train::llama_parameters(lc), parameters(*llama));
  lc.tie_word_embeddings = true;
  llm::LlamaForCausalLM tied(lc);
  EXPECT_EQ(train::llama_parameters(lc), parameters(*tied));
  vision::SiglipVisionConfig vc;
  vc.hidden_size = 64, vc.intermediate_size = 160, vc.num_hidden_layers = 2, vc.num_attention_heads = 4;
  vc.image_size = 32, vc.patch_size = 8, vc.use_head = false;
  vision::SiglipVisionEncoder enc(vc);
  EXPECT_EQ(train::siglip_layer_parameters(vc), parameters(enc->encoder->layer(0)));
  // A whole SeTok: the plan builds it with one encoder layer and counts the rest of them.
  const tokenizer::SetokConfig small = tokenizer::SetokConfig::small();
  tokenizer::SetokModel setok(small);
  nlohmann::json cfg = {{"model", small.to_json()}, {"batch_size", 4}};
  train::PlanOptions o;
  o.available_bytes = 1e12;
  const train::MemoryPlan p = train::plan_training(cfg, o);
  EXPECT_EQ(p.kind, "setok");
  EXPECT_EQ(p.parameters, parameters(*setok));
  EXPECT_TRUE(p.fits());
  o.available_bytes = 1e6;
  EXPECT_FALSE(train::plan_training(cfg, o).fits());
}

// What the forward pass leaves allocated is what it keeps for backward (and its output): the plan's
// count must be within a quarter of it.
TEST(MemoryPlan, ActivationsAgainstWhatAForwardPassKeeps) {
  at::manual_seed(0);
  const llm::LlamaConfig lc = small_llama();
  llm::LlamaForCausalLM llama(lc);
  const std::int64_t B = 4, T = 128;
  const at::Tensor emb = torch::randn({B, T, lc.hidden_size});
  double before = heap_bytes();
  at::Tensor h = llama->hidden(emb);
  const double kept = heap_bytes() - before;
  const double planned = 4.0 * (lc.num_hidden_layers * train::llama_layer_activations(lc, B, T) + h.numel());
  std::printf("[ figures  ] LLaMA (3 × 128, 4 × 128 tokens): kept %.2f MiB, planned %.2f MiB\n", kept / 1048576,
              planned / 1048576);
  EXPECT_NEAR(planned / kept, 1.0, 0.25);
  h = at::Tensor();

  vision::SiglipVisionConfig vc;
  vc.hidden_size = 96, vc.intermediate_size = 384, vc.num_hidden_layers = 3, vc.num_attention_heads = 4;
  vc.image_size = 128, vc.patch_size = 8, vc.use_head = false;
  vision::SiglipVisionEncoder enc(vc);
  const at::Tensor px = torch::randn({4, 3, 128, 128});
  const at::Tensor x = enc->embeddings(px);
  before = heap_bytes();
  at::Tensor y = x;
  for (std::size_t i = 0; i < enc->encoder->size(); ++i) y = enc->encoder->layer(i).forward(y);
  const double kept_v = heap_bytes() - before;
  const double planned_v = 4.0 * (vc.num_hidden_layers * train::siglip_layer_activations(vc, 4) + y.numel());
  std::printf("[ figures  ] SigLIP (3 × 96, 4 × 256 patches): kept %.2f MiB, planned %.2f MiB\n", kept_v / 1048576,
              planned_v / 1048576);
  EXPECT_NEAR(planned_v / kept_v, 1.0, 0.25);
}
