#pragma once
// A LLaMA-architecture decoder (RMSNorm, rotary embeddings, SwiGLU, grouped-query attention) with a
// key/value cache. Modules are registered under HuggingFace's names, so the state dict of
// LlamaForCausalLM ("model.layers.0.self_attn.q_proj.weight", "lm_head.weight", …) loads as it is.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <vector>

#include "core/llm/llama_config.h"

namespace setok::llm {

// Keys and values of every layer for the positions seen so far. Preallocated: a decode step writes
// one slot per layer and reads the filled prefix, so it never recomputes the prompt.
struct KVCache {
  std::vector<at::Tensor> k, v;  // per layer [B, kv_heads, capacity, head_dim]
  std::int64_t length = 0;       // positions filled
  std::int64_t capacity = 0;
  // When defined ([capacity] f32): every single-token step (decoding) adds the attention its query
  // paid to each position, averaged over heads, batch row 0, summed over layers. What an answer
  // looked at (see mllm::Answer::image_attention); record_steps counts those steps × layers.
  at::Tensor attention_sum;
  std::int64_t record_steps = 0;

  static KVCache allocate(const LlamaConfig& c, std::int64_t batch, std::int64_t capacity, const at::TensorOptions& o);
  // Forgets everything from position n on (regenerate, edit a past turn).
  void truncate(std::int64_t n);
  bool empty() const { return k.empty(); }
};

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(std::int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);  // normalised in f32, scaled, cast back (as HF does)
  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// cos/sin tables [T, head_dim] for the given positions (HF's layout: the two halves repeat).
struct RotaryTable {
  at::Tensor cos, sin;
};
RotaryTable rotary_table(const LlamaConfig& c, const at::Tensor& positions, const at::TensorOptions& o);
// q or k [B, H, T, d] rotated by the table (HF's rotate_half convention).
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTable& r);

// A low-rank adapter on one projection (see core/llm/lora.h): y = W x + scale · B (A x). Kept
// outside the module's registered parameters, so state dicts and saved models never carry it.
struct LoraAdapter {
  at::Tensor A, B;  // [rank, in], [out, rank]
  double scale = 0;
};
using LoraAdapters = std::map<std::string, LoraAdapter>;  // by projection name ("q_proj", …)
// l(x), plus the adapter of that name when there is one.
at::Tensor lora_linear(torch::nn::Linear& l, const LoraAdapters& lora, const char* name, const at::Tensor& x);

struct LlamaAttentionImpl : torch::nn::Module {
  explicit LlamaAttentionImpl(const LlamaConfig& c);
  // x [B, T, D]. With a cache, keys/values go to positions cache.length..+T (the caller advances
  // cache.length after the last layer). key_valid [B, L_total] bool (undefined: all valid).
  at::Tensor forward(const at::Tensor& x, const RotaryTable& rope, KVCache* cache, std::size_t layer,
                     const at::Tensor& key_valid);
  LlamaConfig config;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  LoraAdapters lora;
};
TORCH_MODULE(LlamaAttention);

struct LlamaMLPImpl : torch::nn::Module {
  explicit LlamaMLPImpl(const LlamaConfig& c);
  at::Tensor forward(const at::Tensor& x);  // down(silu(gate(x)) * up(x))
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  LoraAdapters lora;
};
TORCH_MODULE(LlamaMLP);

struct LlamaDecoderLayerImpl : torch::nn::Module {
  explicit LlamaDecoderLayerImpl(const LlamaConfig& c);
  at::Tensor forward(const at::Tensor& x, const RotaryTable& rope, KVCache* cache, std::size_t layer,
                     const at::Tensor& key_valid);
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

struct LlamaModelImpl : torch::nn::Module {
  explicit LlamaModelImpl(const LlamaConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  explicit LlamaForCausalLMImpl(const LlamaConfig& c);

  // Token embeddings [B, T, D] of ids [B, T].
  at::Tensor embed(const at::Tensor& ids);
  // Final hidden states [B, T, D] (after the last norm) of input embeddings [B, T, D]. With a cache
  // the positions continue from cache->length, which advances by T. key_valid [B, past + T] marks
  // padded positions (false) no query may attend to; undefined: none.
  at::Tensor hidden(const at::Tensor& embeds, KVCache* cache = nullptr, const at::Tensor& key_valid = {});
  // Logits [B, T, V] of hidden states (the LM head, tied to the embeddings when configured).
  at::Tensor logits(const at::Tensor& hidden_states);
  // Both: logits [B, T, V] of ids [B, T].
  at::Tensor forward(const at::Tensor& ids, KVCache* cache = nullptr);

  const LlamaConfig& config() const { return config_; }
  // Adds rows to the embedding table (and the LM head) up to `vocab` ids, each new row the mean of
  // the old ones (as HuggingFace starts an added token), so the model reads and writes new special
  // tokens. Throws when `vocab` is not larger than the vocabulary.
  void grow_vocabulary(std::int64_t vocab);
  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // absent when tie_word_embeddings
  // Training with gradient checkpointing of every decoder layer (nn/activation_checkpoint.h): with
  // gradients on and no KV cache, each layer's activations are recomputed in backward instead of
  // kept (set by the trainers only).
  bool checkpointing = false;

 private:
  LlamaConfig config_;
};
TORCH_MODULE(LlamaForCausalLM);

// Loads a HuggingFace LlamaForCausalLM folder (config.json + model.safetensors or sharded). Tensors
// HF keeps but does not need (rotary inv_freq buffers) are skipped; anything else missing or extra
// is an error naming the tensor. dtype: the parameters' type (f32 on CPU; bf16/f16 on GPU).
LlamaForCausalLM load_llama(const std::string& dir, at::ScalarType dtype = at::kFloat, const std::string& prefix = "");
// Writes the model as a HuggingFace folder (config.json + model.safetensors).
void save_llama(const std::string& dir, LlamaForCausalLM& model);

}  // namespace setok::llm
