#pragma once
// The small text encoder SeTok's concept loss trains with (the paper uses a frozen CLIP text
// encoder, which cannot be had here): words -> embeddings -> Transformer -> mean -> token width.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace setok::train {

// Lower-cased words; id 0 pads, id 1 is unknown.
class WordVocab {
 public:
  WordVocab() = default;
  explicit WordVocab(const std::vector<std::string>& texts);
  static std::vector<std::string> words(const std::string& text);
  std::vector<std::int64_t> encode(const std::string& text) const;
  // [B, L] ids (0-padded to the longest) for a batch of texts.
  at::Tensor encode_batch(const std::vector<std::string>& texts) const;
  std::size_t size() const { return words_.size(); }
  nlohmann::json to_json() const { return words_; }
  static WordVocab from_json(const nlohmann::json& j);

 private:
  std::vector<std::string> words_{"<pad>", "<unk>"};
  std::map<std::string, std::int64_t> ids_;
};

struct TextEncoderOptions {
  TORCH_ARG(int64_t, vocab_size) = 64;
  TORCH_ARG(int64_t, dim) = 128;
  TORCH_ARG(int64_t, layers) = 2;
  TORCH_ARG(int64_t, heads) = 4;
  TORCH_ARG(int64_t, max_len) = 16;
  TORCH_ARG(int64_t, out_dim) = 128;
};

struct TextEncoderImpl : torch::nn::Module {
  explicit TextEncoderImpl(const TextEncoderOptions& o);
  // ids [B, L] (0 = padding) -> [B, out_dim]
  at::Tensor forward(const at::Tensor& ids);

  TextEncoderOptions options;
  torch::nn::Embedding embed{nullptr};
  at::Tensor position;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(TextEncoder);

// Not in the paper: a residual MLP that a token passes through before it meets the text side of
// the concept loss and of zero-shot concept scoring, the visual counterpart of the text encoder's
// `proj` (as CLIP projects its image features). x + fc2(GELU(fc1(LN(x)))), fc2 zero at first, so a
// head added to a trained model starts as the identity and scores what the model scored. It reads
// the token and changes nothing the tokenizer, the decoder or SeTokim see; with it, concept top-1
// measures what a small non-linear read-out finds in a token rather than a linear one
// (docs/design/setok-training.md).
struct TokenHeadImpl : torch::nn::Module {
  TokenHeadImpl(int64_t dim, int64_t hidden);
  at::Tensor forward(const at::Tensor& tokens);  // [..., dim] -> [..., dim]
  int64_t hidden() const { return fc1->options.out_features(); }

  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TokenHead);

// The head's tensors ride in text_encoder.safetensors under this prefix.
inline constexpr const char* kTokenHeadPrefix = "token_head.";

// A training checkpoint of a run with semantic_weight keeps its patch-class head in
// text_encoder.safetensors under this prefix, so that a resumed run finds it. The head is for
// training only: the final model never holds it, and evaluation skips it.
inline constexpr const char* kSemanticHeadPrefix = "semantic_head.";

// The width of the token head a model's config.json `concept` section names (token_head.hidden);
// 0 when it names none.
inline int64_t token_head_width(const nlohmann::json& concept) {
  return concept.contains("token_head") ? concept["token_head"].value("hidden", int64_t{0}) : 0;
}

}  // namespace setok::train
