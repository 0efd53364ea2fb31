#pragma once
// The mask decoder (SAM's, over SeTok's vision encoder): the patch features, projected to the
// decoder's width, plus the dense prompt, meet the output tokens (one IoU token, one single-mask
// token, `multimask` alternatives) and the sparse prompts in a two-way transformer. The image side
// is upsampled ×4 by two transposed convolutions; each mask token, through its own 3-layer MLP,
// becomes a linear classifier over the upsampled features; an MLP on the IoU token predicts each
// mask's IoU. A last step, not in SAM, takes a mask to the image's full input resolution: its
// logits upsampled, beside the pixels and the upsampled features, through three small convolutions
// that add a correction (the small encoder's 8-px patches would otherwise leave edges 2 px coarse).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "core/heads/mask_decoder_config.h"
#include "core/heads/prompt_encoder.h"
#include "core/heads/two_way_transformer.h"

namespace setok::heads {

struct MaskPrediction {
  at::Tensor low_res;    // [B, M, low_res, low_res] logits; M = 1 + multimask, [:, 0] the single mask
  at::Tensor iou;        // [B, M] predicted IoU
  at::Tensor features;   // [B, upscale2, low_res, low_res]: what refine() reads beside the pixels
  at::Tensor relevance;  // [B, C] logits (undefined without language)
};

class MaskDecoderImpl : public torch::nn::Module {
 public:
  explicit MaskDecoderImpl(const MaskDecoderConfig& config);
  // features [B, grid², feature_dim]: the vision encoder's patch features.
  MaskPrediction forward(const at::Tensor& features, const Prompts& prompts);
  // One mask per image, [B, 1, low_res, low_res] logits (a channel of forward's), to the full input
  // resolution: [B, 1, image_size, image_size]. pixels [B, 3, S, S] in [0, 1]; mask_features from
  // forward (or undefined for zeros).
  at::Tensor refine(const at::Tensor& low_res, const at::Tensor& pixels, const at::Tensor& mask_features);
  const MaskDecoderConfig& config() const { return config_; }
  void set_trained(bool t) { config_.trained = t; }

  PromptEncoder prompt_encoder{nullptr};
  torch::nn::Linear feature_proj{nullptr};
  torch::nn::LayerNorm feature_norm{nullptr};
  at::Tensor iou_token, mask_tokens;
  TwoWayTransformer transformer{nullptr};
  torch::nn::ConvTranspose2d up1{nullptr}, up2{nullptr};
  at::Tensor up_norm_weight, up_norm_bias;
  torch::nn::ModuleList hyper{nullptr};
  torch::nn::Sequential iou_head{nullptr};
  torch::nn::Conv2d refine1{nullptr}, refine2{nullptr}, refine3{nullptr};

 private:
  at::Tensor upscale(const at::Tensor& image, std::int64_t batch);
  MaskDecoderConfig config_;
};
TORCH_MODULE(MaskDecoder);

// mask_decoder.json + mask_decoder.safetensors in a folder (beside a SeTokim's files).
inline constexpr const char* kMaskDecoderConfigFile = "mask_decoder.json";
inline constexpr const char* kMaskDecoderWeightsFile = "mask_decoder.safetensors";
// Optionally beside it, a decoder trained on clicks, boxes and starting masks alone (language_dim
// 0), which answers every query without words: click_decoder.json + click_decoder.safetensors.
inline constexpr const char* kClickDecoderConfigFile = "click_decoder.json";
inline constexpr const char* kClickDecoderWeightsFile = "click_decoder.safetensors";
// Reads `config_file` and `weights_file` in dir (the mask decoder's by default). Throws
// setok::Error naming a missing or malformed file.
MaskDecoder load_mask_decoder(const std::string& dir, const char* config_file = kMaskDecoderConfigFile,
                              const char* weights_file = kMaskDecoderWeightsFile);
// Writes both files atomically (f32 weights).
void save_mask_decoder(const std::string& dir, MaskDecoder& decoder, const char* config_file = kMaskDecoderConfigFile,
                       const char* weights_file = kMaskDecoderWeightsFile);

}  // namespace setok::heads
