#pragma once
// SeTok end to end (§2.1): image -> encoder patch features -> Token Cluster masks -> Token Merger
// tokens -> Detokenizer pixels. A checkpoint is a folder: config.json + model.safetensors with
// the encoder under HuggingFace's SigLIP names (vision_model.*).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>

#include "core/io/image.h"
#include "core/tokenizer/setok_config.h"
#include "core/tokenizer/token_cluster.h"
#include "core/vision/siglip_encoder.h"

namespace setok::tokenizer {

struct Tokenized {
  at::Tensor features;  // [B,N,D] patch features
  int64_t grid_h = 0, grid_w = 0;
  ClusterResult clusters;  // masks [B,N,C], token_valid [B,C], ...
  at::Tensor tokens;       // [B,C,d_tok]; padded tokens are zero
};

class SetokModelImpl : public torch::nn::Module {
 public:
  explicit SetokModelImpl(const SetokConfig& config);

  // pixels [B,3,S,S] normalised as vision::SiglipVisionEncoderImpl::preprocess makes them,
  // clustered with `params` (a request's settings; the model keeps none of them).
  // before_cluster, when set, sees the patch features [B,N,D] before they are clustered and may
  // change the settings for this call (training's object_bandwidth does).
  using BeforeCluster = std::function<void(const at::Tensor& features, ClusterParams& params)>;
  Tokenized tokenize(const at::Tensor& pixels, ClusterParams params, const BeforeCluster& before_cluster = nullptr);
  // The same with the model's own settings (its config.json's "cluster").
  Tokenized tokenize(const at::Tensor& pixels) { return tokenize(pixels, config_.cluster); }
  // mask_logits, regions: see DetokenizerImpl::forward.
  at::Tensor reconstruct(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits = nullptr,
                         const at::Tensor& regions = {});
  // The detokenizer's picture of tokenize(pixels)'s tokens, with their region descriptors when the
  // detokenizer reads them: what `setok tokenize --reconstruction` and `setok eval setok` draw.
  at::Tensor reconstruct(const at::Tensor& pixels, const Tokenized& t, at::Tensor* mask_logits = nullptr);
  // Each token's region descriptor (token_geometry, with the detokenizer's appearance side) for a
  // batch: [B, C, detokenizer->options.region_width()], zeros for padded tokens. Undefined when
  // the detokenizer reads none.
  at::Tensor regions(const at::Tensor& pixels, const Tokenized& t) const;
  // Preprocesses one image for this model's encoder: [1,3,S,S].
  at::Tensor preprocess(const io::Image& img) const;

  // Read-only: what the model was built and saved with. Per-request settings are arguments.
  const SetokConfig& config() const { return config_; }
  vision::SiglipVisionEncoder encoder{nullptr};
  TokenCluster cluster{nullptr};
  TokenMerger merger{nullptr};
  Detokenizer detokenizer{nullptr};

 private:
  SetokConfig config_;
};
TORCH_MODULE(SetokModel);

// Loads a model folder; throws setok::Error naming what is wrong.
SetokModel load_setok(const std::string& dir);
void save_setok(const std::string& dir, SetokModel& model);

// Where the bundled models live: $SETOK_MODELS_DIR, else the install's share folder, else the
// source tree's resources/models. Empty when none exists.
std::string bundled_models_dir();
// The default SeTok model folder (bundled), or "" when there is none yet.
std::string default_setok_model();
// The default SeTokim folder (the bundled setokim-small), or "" when there is none.
std::string default_setokim_model();

}  // namespace setok::tokenizer
