#include "core/vision/siglip_encoder.h"

#include "core/io/checkpoint.h"
#include "core/nn/activation_checkpoint.h"
#include "core/nn/precision.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"

namespace setok::vision {

SiglipVisionEncoderImpl::SiglipVisionEncoderImpl(const SiglipVisionConfig& config) : config_(config) {
  config_.validate();
  embeddings = register_module("embeddings", SiglipVisionEmbeddings(config_));
  encoder = register_module("encoder", SiglipEncoder(config_));
  post_layernorm = register_module(
      "post_layernorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({config_.hidden_size}).eps(config_.layer_norm_eps)));
  if (config_.use_head) head = register_module("head", SiglipAttentionPoolingHead(config_));
}

SiglipOutput SiglipVisionEncoderImpl::forward(const at::Tensor& pixels, bool output_hidden_states) {
  SiglipOutput out;
  at::Tensor x = embeddings(pixels);
  for (std::size_t i = 0; i < encoder->size(); ++i) {
    x = run_layer(i, x);
    if (output_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden_state = post_layernorm(nn::autocast_f32(x));
  if (head) out.pooled = head(out.last_hidden_state);
  return out;
}

at::Tensor SiglipVisionEncoderImpl::run_layer(std::size_t i, const at::Tensor& x) {
  SiglipEncoderLayerImpl* layer = &encoder->layer(i);
  if (!checkpointing || !at::GradMode::is_enabled()) return layer->forward(x);
  return nn::checkpointed([layer](const at::Tensor& in) { return layer->forward(in); }, x);
}

PatchFeatures SiglipVisionEncoderImpl::patch_features(const at::Tensor& pixels, std::int64_t layer) {
  const auto L = static_cast<std::int64_t>(encoder->size());
  if (layer >= L || layer < -L)
    throw Error("SigLIP: feature layer " + std::to_string(layer) + " is outside a " + std::to_string(L) +
                "-layer encoder");
  PatchFeatures f;
  f.grid_h = pixels.dim() == 4 ? pixels.size(2) / config_.patch_size : 0;
  f.grid_w = pixels.dim() == 4 ? pixels.size(3) / config_.patch_size : 0;
  // -1 is the post-norm output; -m (m >= 2) is HF's hidden_states[-m], the output of layer L - m.
  const std::int64_t last = layer == -1 ? L - 1 : (layer < 0 ? L + layer : layer);
  at::Tensor x = embeddings(pixels);
  for (std::int64_t i = 0; i <= last; ++i) x = run_layer(static_cast<std::size_t>(i), x);
  f.features = layer == -1 ? post_layernorm(nn::autocast_f32(x)) : x;
  return f;
}

at::Tensor SiglipVisionEncoderImpl::preprocess(const io::Image& img, std::int64_t image_size) {
  if (img.empty()) throw Error("SigLIP: empty image");
  if (image_size <= 0) throw Error("SigLIP: image size must be positive");
  if (img.rgb.size() != static_cast<std::size_t>(img.width) * img.height * 3)
    throw Error("SigLIP: image buffer does not hold width x height RGB pixels");
  at::Tensor x = at::from_blob(const_cast<std::uint8_t*>(img.rgb.data()), {1, img.height, img.width, 3}, at::kByte)
                     .permute({0, 3, 1, 2})
                     .to(at::kFloat);
  if (img.width != image_size || img.height != image_size) {
    // PIL's bilinear filter widens its support when shrinking (antialiasing); HF's processor resizes
    // through PIL and back to uint8, hence the rounding.
    x = at::_upsample_bilinear2d_aa(x, {image_size, image_size}, /*align_corners=*/false).round().clamp(0, 255);
  }
  return ((x / 255.0) - 0.5) / 0.5;
}

SiglipVisionEncoder load_siglip(const std::string& dir) {
  SiglipVisionConfig cfg = SiglipVisionConfig::from_json(io::read_json_file(dir + "/config.json"));
  io::TensorMap tensors = io::load_weights(dir);
  // transformers 4 saves a SiglipVisionModel under "vision_model."; transformers 5 drops that
  // prefix ("embeddings.…", "encoder.…"). Read both.
  const bool unprefixed = tensors.count("embeddings.position_embedding.weight") != 0;
  const std::string prefix = unprefixed ? "" : kSiglipPrefix;
  for (const auto& [name, t] : tensors) {
    if (unprefixed) {
      bool vision = false;
      for (const char* part : {"embeddings.", "encoder.", "post_layernorm.", "head."})
        vision = vision || name.rfind(part, 0) == 0;
      if (!vision) throw Error("SigLIP checkpoint has tensor '" + name + "' that is not part of the vision tower");
      continue;
    }
    if (name.compare(0, prefix.size(), prefix) == 0) continue;
    // A full SiglipModel also holds the text tower and the sigmoid loss's scale and bias.
    if (name.compare(0, 11, "text_model.") == 0 || name == "logit_scale" || name == "logit_bias") continue;
    throw Error("SigLIP checkpoint has tensor '" + name + "' outside vision_model. and the text tower");
  }
  SiglipVisionEncoder enc(cfg);
  nn::load_state_dict(*enc, tensors, prefix, /*strict=*/true);
  enc->eval();
  return enc;
}

void save_siglip(const std::string& dir, const SiglipVisionEncoder& encoder) {
  nlohmann::json cfg = encoder->config().to_json();
  cfg["architectures"] = {"SiglipVisionModel"};
  io::save_checkpoint(dir, cfg, nn::state_dict(*encoder, kSiglipPrefix));
}

}  // namespace setok::vision
