#pragma once
// The configuration of a LLaMA-architecture decoder, read from and written as HuggingFace's
// LlamaConfig (config.json of a LlamaForCausalLM folder), so LLaMA-2, Vicuna and TinyLlama load as
// they are.
#include <cstdint>
#include <nlohmann/json.hpp>

namespace setok::llm {

struct LlamaConfig {
  std::int64_t vocab_size = 32000;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 11008;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  std::int64_t num_key_value_heads = 32;  // < heads: grouped-query attention
  std::int64_t head_dim = 0;              // 0: hidden_size / num_attention_heads
  std::int64_t max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double rope_linear_factor = 1.0;  // rope_scaling {"type": "linear", "factor": f}: positions / f
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::int64_t bos_token_id = 1, eos_token_id = 2;

  std::int64_t head_width() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
  // Throws setok::Error naming the first inconsistent field.
  void validate() const;

  static LlamaConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  // TinyLlama-1.1B's shape (22 layers, 2048 wide, 32 heads, 4 key/value heads).
  static LlamaConfig tinyllama_1_1b();
  // LLaMA-2-7B's shape.
  static LlamaConfig llama2_7b();
};

}  // namespace setok::llm
