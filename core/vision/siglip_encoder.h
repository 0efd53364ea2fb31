#pragma once
// The vision encoder: a SigLIP ViT whose state dict, under "vision_model.", is HuggingFace's, so
// google/siglip-so400m-patch14-384 (or any SiglipVisionModel / SiglipModel folder) loads as it is.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "core/io/image.h"
#include "core/vision/siglip_config.h"
#include "core/vision/siglip_layers.h"

namespace setok::vision {

// The tensor-name prefix of the vision tower in HF checkpoints.
inline constexpr const char* kSiglipPrefix = "vision_model.";

struct SiglipOutput {
  at::Tensor last_hidden_state;           // [B, N, hidden], after post_layernorm
  std::vector<at::Tensor> hidden_states;  // output of each layer k (no post-norm); only when asked.
                                          // Unlike HF's tuple, the embeddings are not entry 0.
  at::Tensor pooled;                      // [B, hidden] from the MAP head; undefined without a head
};

// Patch features for the tokenizer, with the patch grid they lie on (N = grid_h * grid_w, row-major).
struct PatchFeatures {
  at::Tensor features;  // [B, N, hidden]
  std::int64_t grid_h = 0, grid_w = 0;
};

struct SiglipVisionEncoderImpl : torch::nn::Module {
  explicit SiglipVisionEncoderImpl(const SiglipVisionConfig& config);

  // pixels [B, C, H, W], normalised as preprocess() does. A patch grid other than the trained one
  // gets a bicubically interpolated position table; pixels past the last whole patch are dropped.
  SiglipOutput forward(const at::Tensor& pixels, bool output_hidden_states = false);

  // layer -1: last_hidden_state (post-norm); k >= 0: output of layer k; -2: penultimate layer, and
  // so on (LLaVA's convention). Runs only the layers needed.
  PatchFeatures patch_features(const at::Tensor& pixels, std::int64_t layer);
  PatchFeatures patch_features(const at::Tensor& pixels) { return patch_features(pixels, config_.feature_layer); }

  const SiglipVisionConfig& config() const { return config_; }

  // SigLIP's processor: bilinear (antialiased, like PIL) resize to image_size x image_size, rounded to
  // 8 bits as PIL would, scaled to [0, 1], normalised with mean 0.5 / std 0.5 -> [1, 3, S, S] float.
  static at::Tensor preprocess(const io::Image& img, std::int64_t image_size);

  SiglipVisionEmbeddings embeddings{nullptr};
  SiglipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};
  SiglipAttentionPoolingHead head{nullptr};  // null unless config.use_head
  // Training with gradient checkpointing of every encoder layer (nn/activation_checkpoint.h): with
  // gradients on, each layer's activations are recomputed in backward (set by the trainers only).
  bool checkpointing = false;

 private:
  at::Tensor run_layer(std::size_t i, const at::Tensor& x);
  SiglipVisionConfig config_;
};
TORCH_MODULE(SiglipVisionEncoder);

// Reads config.json and the weights (single file or shards) of a SiglipVisionModel or SiglipModel
// folder. Text-tower tensors (text_model.*, logit_scale, logit_bias) are ignored; every tensor under
// "vision_model." must match the model exactly, anything else is refused (setok::Error names it).
SiglipVisionEncoder load_siglip(const std::string& dir);

// Writes a SiglipVisionModel folder (config.json + model.safetensors) that load_siglip and HF read.
void save_siglip(const std::string& dir, const SiglipVisionEncoder& encoder);

}  // namespace setok::vision
