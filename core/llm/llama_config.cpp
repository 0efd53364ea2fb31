#include "core/llm/llama_config.h"

#include <string>

#include "core/runtime/error.h"

namespace setok::llm {
namespace {
template <class T>
void get(const nlohmann::json& j, const char* key, T& v) {
  if (j.contains(key) && !j[key].is_null()) v = j[key].get<T>();
}
}  // namespace

void LlamaConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("LLaMA config: " + what);
  };
  need(vocab_size > 0, "vocab_size must be positive");
  need(hidden_size > 0 && intermediate_size > 0 && num_hidden_layers > 0, "sizes must be positive");
  need(num_attention_heads > 0 && num_key_value_heads > 0, "head counts must be positive");
  need(num_attention_heads % num_key_value_heads == 0, "num_attention_heads (" + std::to_string(num_attention_heads) +
                                                           ") must be a multiple of num_key_value_heads (" +
                                                           std::to_string(num_key_value_heads) + ")");
  need(head_dim > 0 || hidden_size % num_attention_heads == 0, "hidden_size must be divisible by num_attention_heads");
  need(head_width() % 2 == 0, "the head width must be even for rotary embeddings");
  need(max_position_embeddings > 0, "max_position_embeddings must be positive");
  need(rms_norm_eps > 0 && rope_theta > 0 && rope_linear_factor > 0,
       "rms_norm_eps, rope_theta and the rope factor must be positive");
}

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("LLaMA config is not a JSON object");
  LlamaConfig c;
  try {
    const std::string type = j.value("model_type", std::string("llama"));
    if (type != "llama") throw Error("config.json has model_type '" + type + "', not 'llama'");
    get(j, "vocab_size", c.vocab_size);
    get(j, "hidden_size", c.hidden_size);
    get(j, "intermediate_size", c.intermediate_size);
    get(j, "num_hidden_layers", c.num_hidden_layers);
    get(j, "num_attention_heads", c.num_attention_heads);
    c.num_key_value_heads = c.num_attention_heads;
    get(j, "num_key_value_heads", c.num_key_value_heads);
    get(j, "head_dim", c.head_dim);
    get(j, "max_position_embeddings", c.max_position_embeddings);
    get(j, "rms_norm_eps", c.rms_norm_eps);
    get(j, "rope_theta", c.rope_theta);
    get(j, "tie_word_embeddings", c.tie_word_embeddings);
    get(j, "attention_bias", c.attention_bias);
    get(j, "mlp_bias", c.mlp_bias);
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = j["bos_token_id"];
    if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer()) c.eos_token_id = j["eos_token_id"];
    if (j.contains("eos_token_id") && j["eos_token_id"].is_array() && !j["eos_token_id"].empty())
      c.eos_token_id = j["eos_token_id"][0];
    if (j.contains("hidden_act") && j["hidden_act"] != "silu")
      throw Error("hidden_act '" + j["hidden_act"].get<std::string>() + "' is not supported (LLaMA uses silu)");
    // transformers 4.x writes rope_theta + rope_scaling; 5.x one rope_parameters object holding
    // rope_type, rope_theta and the scaling fields.
    for (const char* key : {"rope_scaling", "rope_parameters"}) {
      if (!j.contains(key) || j[key].is_null()) continue;
      const auto& rs = j[key];
      if (!rs.is_object()) throw Error(std::string("LLaMA config: '") + key + "' is not an object");
      get(rs, "rope_theta", c.rope_theta);
      const std::string t = rs.value("rope_type", rs.value("type", std::string("default")));
      if (t == "linear") {
        c.rope_linear_factor = rs.at("factor").get<double>();
      } else if (t != "default") {
        throw Error(std::string(key) + " type '" + t + "' is not supported (only linear)");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("LLaMA config: ") + e.what());
  }
  c.validate();
  return c;
}

nlohmann::json LlamaConfig::to_json() const {
  nlohmann::json j = {{"model_type", "llama"},
                      {"architectures", {"LlamaForCausalLM"}},
                      {"vocab_size", vocab_size},
                      {"hidden_size", hidden_size},
                      {"intermediate_size", intermediate_size},
                      {"num_hidden_layers", num_hidden_layers},
                      {"num_attention_heads", num_attention_heads},
                      {"num_key_value_heads", num_key_value_heads},
                      {"max_position_embeddings", max_position_embeddings},
                      {"rms_norm_eps", rms_norm_eps},
                      {"rope_theta", rope_theta},
                      {"tie_word_embeddings", tie_word_embeddings},
                      {"attention_bias", attention_bias},
                      {"mlp_bias", mlp_bias},
                      {"hidden_act", "silu"},
                      {"bos_token_id", bos_token_id},
                      {"eos_token_id", eos_token_id}};
  if (head_dim > 0) j["head_dim"] = head_dim;
  if (rope_linear_factor != 1.0) j["rope_scaling"] = {{"type", "linear"}, {"factor", rope_linear_factor}};
  return j;
}

LlamaConfig LlamaConfig::tinyllama_1_1b() {
  LlamaConfig c;
  c.vocab_size = 32000;
  c.hidden_size = 2048;
  c.intermediate_size = 5632;
  c.num_hidden_layers = 22;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 4;
  c.max_position_embeddings = 2048;
  c.rms_norm_eps = 1e-5;
  return c;
}

LlamaConfig LlamaConfig::llama2_7b() {
  LlamaConfig c;
  c.rms_norm_eps = 1e-5;
  return c;
}

}  // namespace setok::llm
