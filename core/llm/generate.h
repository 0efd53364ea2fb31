#pragma once
// Token-by-token generation over a LLaMA decoder with its KV cache: greedy, temperature and
// nucleus (top-p) sampling, stop strings, a token budget, and a callback per token that streams
// the text and can cancel between tokens.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/llm/llama_model.h"

namespace setok::llm {

struct SamplingOptions {
  std::int64_t max_new_tokens = 128;
  double temperature = 0.0;  // 0: greedy
  double top_p = 1.0;        // nucleus: the smallest set of tokens whose probability reaches top_p
  std::uint64_t seed = 0;
  std::vector<std::string> stop;       // generation ends before any of these strings
  std::vector<std::int64_t> stop_ids;  // e.g. EOS
};

// Picks the next token from logits [V] (f32 or lower; read in f32).
std::int64_t sample_token(const at::Tensor& logits, const SamplingOptions& o, std::mt19937_64& rng);

struct GenerateResult {
  std::vector<std::int64_t> tokens;  // generated, stop token excluded
  std::string text;                  // decoded, cut before a stop string
  std::string stop_reason;           // "eos", "stop", "length", "cancelled"
  double prefill_seconds = 0, decode_seconds = 0;
  std::int64_t prompt_length = 0;
};

// ids -> text (the tokenizer's decode).
using DecodeFn = std::function<std::string(const std::vector<std::int64_t>&)>;
// Called with each new piece of text; return false to stop (cancel).
using StreamFn = std::function<bool(const std::string& piece)>;

// Runs the prompt embeddings [1, T, D] through the model (appending to `cache`, whose length is the
// conversation so far) and generates. On return the cache holds the prompt and the generated
// tokens, so a conversation continues from it.
GenerateResult generate(LlamaForCausalLM& model, const at::Tensor& prompt_embeds, KVCache& cache,
                        const SamplingOptions& o, const DecodeFn& decode, const StreamFn& stream = {});

}  // namespace setok::llm
