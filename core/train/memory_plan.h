#pragma once
// `setok plan`: what a training run needs on each device, worked out from its config before any
// weight is loaded (docs/design/distributed.md): the weights the trainer holds (f32 master weights),
// the gradients and AdamW's two moments of what trains, the gradient buckets of a data-parallel run,
// the activations a step keeps for backward at the config's batch size — counted, for every
// transformer block, from the shapes of the tensors it keeps (with gradient checkpointing: each
// block's input and one block's worth) — and for a chat model the KV cache of one conversation at
// max_length. Data parallelism copies the model to every rank, so a rank needs the same at any world
// size. Parts this does not model are named in the plan, not silently left out.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/llm/llama_config.h"
#include "core/vision/siglip_config.h"

namespace setok::train {

struct PlanOptions {
  std::string device = "cpu";  // where it runs: "cpu", "cuda", "cuda:N"
  std::string dtype = "f32";   // the activations: "f32", or "bf16"/"f16" (autocast)
  int world_size = 1;
  int lora_rank = -1;           // -1: the config's (a SeTokim config's `lora`), 0: none
  int checkpointing = -1;       // -1: the config's, 0 off, 1 on
  std::string setok_config;     // a SeTokim config's SeTok, when its setok_model folder is not there yet
  double available_bytes = -1;  // -1: the device's (total memory); for tests
};

struct PlanLine {
  std::string what;
  double bytes = 0;
  std::string how;       // how it was counted
  bool in_total = true;  // false: beside the run (a chat's KV cache)
};

struct MemoryPlan {
  std::string kind;  // "setok" or "setokim"
  std::vector<PlanLine> lines;
  std::vector<std::string> not_counted;
  std::int64_t parameters = 0, trainable = 0;
  std::string device;
  double available = 0;  // bytes; 0: unknown (no such device here)
  double total() const;
  bool fits() const { return available <= 0 || total() <= available; }
  nlohmann::json to_json() const;
  std::string table() const;  // the lines as text, one a line, and the total against the device
};

// `config`: a `setok train setok` or `setok train mllm` config (with its --set overrides applied).
MemoryPlan plan_training(const nlohmann::json& config, const PlanOptions& options);

// Throws setok::Error with the plan's figures when the run would not fit its device (the trainers'
// check before they load anything). Does nothing when the device's memory is unknown.
void refuse_if_it_cannot_fit(const nlohmann::json& config, const std::string& device);

// The counts the plan is made of, from configs alone (checked against the built modules in tests).
std::int64_t llama_parameters(const llm::LlamaConfig& c);
std::int64_t llama_layer_parameters(const llm::LlamaConfig& c);
std::int64_t siglip_layer_parameters(const vision::SiglipVisionConfig& c);
// Numbers one block keeps for backward, batch × tokens.
double llama_layer_activations(const llm::LlamaConfig& c, std::int64_t batch, std::int64_t tokens);
double siglip_layer_activations(const vision::SiglipVisionConfig& c, std::int64_t batch);

}  // namespace setok::train
