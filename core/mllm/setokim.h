#pragma once
// SeTokim (§2.2): SeTok's visual tokens, projected into a LLaMA decoder's width, sit between
// [Img] and [/Img] in the text stream. The connector is selectable for honest comparisons at the
// same budget: SeTok's dynamic tokens, the patch grid through a 2-layer MLP (LLaVA-1.5), or a fixed
// number K of DPC-KNN clusters merged by the same merger (the paper's Table 5 "Fixed" rows).
//
// Token geometry (optional, "token_geometry": true): each visual token also carries a descriptor of
// the image region it came from — the colour of its pixels, where it is, how big, its box and the
// silhouette of the region's pixels of its main colour (token_geometry() below) — added through a
// linear layer before the projector's nonlinearity. A small tokenizer's features keep little of an
// object's colour or place; the descriptor hands the language model what the token's mask already
// knows. Every connector gets it the same way (a patch's region is the patch), so comparisons stay
// fair.
//
// Token appearance (optional, "token_appearance": N, with token geometry): N × N more numbers per
// token — the region's pixels inside its object's box, each placed on the line from the local
// background's colour (0) to the object's colour (1) — through their own linear layer beside the
// geometry's. The 8 × 8 silhouette keeps an object's outline; this keeps its shading too (a coat's
// open front, a sandal's straps), which tells kinds of the same outline apart.
//
// A model folder: config.json {"model_type": "setokim", "connector", "fixed_k", "token_geometry",
// "token_appearance",
// "text_config" (HF LlamaConfig), "setok_config"}, model.safetensors with "language_model." + HF
// LLaMA names, "multi_modal_projector.linear_1/linear_2" (LLaVA's names; ".geometry" with token
// geometry, ".appearance" with token appearance) and "setok." + SeTok's names, and tokenizer.model (SentencePiece).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "core/llm/llama_model.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_geometry.h"

namespace setok::mllm {

enum class Connector { kSetok, kPatchMlp, kFixedK };
std::string to_string(Connector c);
Connector parse_connector(const std::string& s);  // "setok" | "patch_mlp" | "fixed_k"

struct SetokimConfig {
  llm::LlamaConfig text;
  tokenizer::SetokConfig vision;
  Connector connector = Connector::kSetok;
  int fixed_k = 8;
  bool token_geometry = false;
  int token_appearance = 0;  // N: an N × N appearance map per token (needs token_geometry); 0: none
  bool trained = false;      // set when a training run writes its final model (config key "trained")

  nlohmann::json to_json() const;
  static SetokimConfig from_json(const nlohmann::json& j);
};

// One image's visual tokens in the language model's width, and where they came from.
struct VisualTokens {
  at::Tensor embeds;      // [C, D]
  at::Tensor assignment;  // [grid_h * grid_w] long: the visual token each patch fed
  at::Tensor geometry;    // [C, kGeometryDims + N²] float: token_geometry() of each token's region
  at::Tensor features;    // [grid_h * grid_w, d]: the vision encoder's patch features (the mask decoder reads them)
  std::int64_t grid_h = 0, grid_w = 0;
  std::int64_t count() const { return embeds.defined() ? embeds.size(0) : 0; }
};

// token_geometry and kGeometryDims (the region descriptor each token carries) live in
// core/tokenizer/token_geometry.h; the detokenizer reads them too.
using tokenizer::kGeometryDims;
using tokenizer::token_geometry;

// Where an image's tokens landed in a sequence.
struct ImageSpan {
  std::int64_t start = 0, length = 0;  // positions of the visual tokens (between the delimiters)
  std::size_t image = 0;               // index into the images given
};

// LLaVA-1.5's projector: linear_1, GELU, linear_2; with token geometry, linear_2(GELU(linear_1(x) +
// geometry(g[:, :90]))), with token appearance also + appearance(g[:, 90:]) inside the GELU.
struct ProjectorImpl : torch::nn::Module {
  ProjectorImpl(std::int64_t in, std::int64_t out, bool with_geometry = false, int appearance = 0);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& geometry = {});
  // Add the geometry layer, or the appearance layer for N × N maps, with zero weights, so the
  // projector's output is unchanged until it learns.
  void add_geometry();
  void add_appearance(int n);
  int appearance_side() const { return appearance_side_; }
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr}, geometry{nullptr}, appearance{nullptr};

 private:
  int appearance_side_ = 0;
};
TORCH_MODULE(Projector);

class SetokimImpl : public torch::nn::Module {
 public:
  explicit SetokimImpl(const SetokimConfig& config);

  // pixels [1, 3, S, S] as the SeTok model preprocesses them. visual_tokens stops before the
  // projector (what training caches when the vision side is frozen); encode_image = project(that).
  VisualTokens visual_tokens(const at::Tensor& pixels);
  // The same for a batch [B, 3, S, S] in one pass of the vision side (what training uses when the
  // vision side learns); element b equals visual_tokens(pixels[b:b+1]).
  std::vector<VisualTokens> visual_tokens_batch(const at::Tensor& pixels);
  VisualTokens project(VisualTokens raw);
  VisualTokens encode_image(const at::Tensor& pixels) { return project(visual_tokens(pixels)); }
  // Embeddings [1, T, D] of a token sequence in which every image is an [Img] [/Img] pair (ids from
  // the text tokenizer): image i's tokens are put between the i-th pair. spans (if given) records
  // where. Throws when the pairs and the images do not match.
  at::Tensor embed_sequence(const std::vector<std::int64_t>& ids, std::int64_t img_begin, std::int64_t img_end,
                            const std::vector<VisualTokens>& images, std::vector<ImageSpan>* spans = nullptr);

  const SetokimConfig& config() const { return config_; }
  void set_trained(bool trained) { config_.trained = trained; }
  // Puts another SeTok under the projector and language model (its tokens must have the width the
  // projector reads; throws otherwise). Draws no random numbers.
  void replace_setok(tokenizer::SetokModel other);
  // Turns token geometry on for a model trained without it (zero-initialised, so the model answers
  // as before until training teaches the new layer). Throws when it is already on.
  void add_token_geometry();
  // The same for token appearance (N × N maps, 4 ≤ N ≤ 32); needs token geometry; throws when on.
  void add_token_appearance(int n);
  // The language model's vocabulary grown to `vocab` ids (LlamaForCausalLMImpl::grow_vocabulary):
  // how a model trained without [SEG] gets it (Stage II's referring requests).
  void grow_vocabulary(std::int64_t vocab);
  tokenizer::SetokModel setok{nullptr};
  Projector multi_modal_projector{nullptr};
  llm::LlamaForCausalLM language_model{nullptr};

 private:
  SetokimConfig config_;
};
TORCH_MODULE(Setokim);

Setokim load_setokim(const std::string& dir);
void save_setokim(const std::string& dir, Setokim& model);

}  // namespace setok::mllm
