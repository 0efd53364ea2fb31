#pragma once
// A tiny LLaMA for tests: its config, a seeded model with non-trivial norms, and token ids as a
// batch of one.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/llm/llama_config.h"
#include "core/llm/llama_model.h"

namespace setok::test {

inline llm::LlamaConfig tiny(std::int64_t kv_heads = 2, bool tie = false) {
  llm::LlamaConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = tie;
  return c;
}

inline llm::LlamaForCausalLM make(const llm::LlamaConfig& c, int seed = 1) {
  at::manual_seed(seed);
  llm::LlamaForCausalLM m(c);
  // Non-trivial norms too, so a wrong norm cannot hide behind weights of one.
  at::NoGradGuard ng;
  for (auto& p : m->named_parameters(true))
    if (p.value().dim() == 1) p.value().uniform_(0.5, 1.5);
  m->eval();
  return m;
}

inline at::Tensor ids_of(std::vector<std::int64_t> v) { return at::tensor(v, at::kLong).view({1, -1}); }

}  // namespace setok::test
