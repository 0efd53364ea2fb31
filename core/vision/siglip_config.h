#pragma once
// The shape of a SigLIP vision tower, read from and written as HuggingFace's config.json, so a
// SiglipVisionModel or SiglipModel folder describes itself. Presets name the models we ship or load.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace setok::vision {

struct SiglipVisionConfig {
  // Defaults are HF's SiglipVisionConfig defaults: HF leaves keys equal to them out of config.json.
  std::int64_t hidden_size = 768;
  std::int64_t intermediate_size = 3072;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t num_channels = 3;
  std::int64_t image_size = 224;
  std::int64_t patch_size = 16;
  double layer_norm_eps = 1e-6;
  std::string hidden_act = "gelu_pytorch_tanh";  // also "gelu_new" (same tanh form) and "gelu" (erf)
  bool use_head = true;                          // HF key "vision_use_head"
  // Which encoder output feeds the tokenizer: -1 = last_hidden_state (after post_layernorm),
  // k >= 0 = output of layer k, -2 = penultimate layer, ... (docs/design/vision-encoder.md).
  // Not an HF key; HF ignores it.
  std::int64_t feature_layer = -1;
  // Optional convolutional stem in place of the patch embedding (not an HF key; empty = HF's
  // Conv2d(kernel = stride = patch)). One 3x3 stride-2 convolution + GroupNorm + GELU per entry,
  // with that many output channels, then a 1x1 convolution to hidden_size, so patch_size must be
  // 2^entries (8 px: three entries). Early convolutions make a ViT trained from scratch learn
  // shapes from far fewer images (docs/design/vision-encoder.md).
  std::vector<std::int64_t> conv_stem;

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Patches per side at image_size; a remainder narrower than a patch is dropped (384 px / 14 = 27).
  std::int64_t grid() const { return image_size / patch_size; }
  std::int64_t num_patches() const { return grid() * grid(); }

  // Accepts a SiglipVisionConfig JSON or a full SiglipConfig JSON (reads its "vision_config").
  // Validates; throws setok::Error with a one-line reason.
  static SiglipVisionConfig from_json(const nlohmann::json& j);
  // A SiglipVisionConfig JSON (model_type "siglip_vision_model") with every key written out.
  nlohmann::json to_json() const;
  // Throws setok::Error unless sizes are positive, hidden divides by heads, the image holds at least
  // one patch, the activation is known and feature_layer names an existing layer.
  void validate() const;

  // google/siglip-so400m-patch14-384: 27x27 = 729 patches of width 1152 (the paper's encoder).
  static SiglipVisionConfig so400m_patch14_384();
  // The project's embedded model: 128 px, patch 8 (16x16 patches), width 192, 4 layers, no head.
  static SiglipVisionConfig small();
};

}  // namespace setok::vision
