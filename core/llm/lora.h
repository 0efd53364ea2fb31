#pragma once
// LoRA (Hu et al., 2021) for the LLaMA decoder: low-rank adapters on chosen projections of every
// layer, y = W x + (alpha / rank) · B (A x), with A [rank, in] drawn like a Linear's weight and
// B [out, rank] = 0, so training starts from the base model exactly. The base weights are frozen;
// only the adapters train (what makes a 7 B backbone tunable in little memory). merge_lora folds
// them into the weights, which gives a plain LLaMA again.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/io/tensor_map.h"
#include "core/llm/llama_model.h"

namespace setok::llm {

struct LoraOptions {
  std::int64_t rank = 8;
  double alpha = 16;
  // Any of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.
  std::vector<std::string> targets{"q_proj", "k_proj", "v_proj", "o_proj"};
  std::uint64_t seed = 0;                                 // A's initial values come from this seed alone
  static LoraOptions from_json(const nlohmann::json& j);  // throws setok::Error
  nlohmann::json to_json() const;
};

// Adds adapters (on the model's device, in f32) and freezes every base parameter of `model`.
// Returns the adapters' tensors, which require gradients, named as PEFT names them
// ("model.layers.0.self_attn.q_proj.lora_A.weight"). Throws if the model already has adapters.
io::TensorMap add_lora(LlamaForCausalLM& model, const LoraOptions& o);
// The adapters' current tensors (same names); empty without adapters.
io::TensorMap lora_tensors(LlamaForCausalLM& model);
// Copies saved adapter values (lora_tensors' names) into the model's adapters; every one must match.
void load_lora(LlamaForCausalLM& model, const io::TensorMap& tensors);
// W += (alpha / rank) · B A for every adapter, then removes them.
void merge_lora(LlamaForCausalLM& model);

}  // namespace setok::llm
