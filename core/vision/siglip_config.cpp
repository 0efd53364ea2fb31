#include "core/vision/siglip_config.h"

#include "core/runtime/error.h"

namespace setok::vision {
namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("SigLIP config: '") + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

}  // namespace

SiglipVisionConfig SiglipVisionConfig::from_json(const nlohmann::json& root) {
  if (!root.is_object()) throw Error("SigLIP config: expected a JSON object");
  const nlohmann::json* j = &root;
  // A full SiglipConfig nests the vision tower; when it is absent HF uses all defaults.
  static const nlohmann::json empty = nlohmann::json::object();
  if (root.contains("vision_config")) {
    j = root["vision_config"].is_null() ? &empty : &root["vision_config"];
    if (!j->is_object()) throw Error("SigLIP config: 'vision_config' is not an object");
  } else if (root.value("model_type", "") == "siglip") {
    j = &empty;
  }
  SiglipVisionConfig c;
  read(*j, "hidden_size", c.hidden_size);
  read(*j, "intermediate_size", c.intermediate_size);
  read(*j, "num_hidden_layers", c.num_hidden_layers);
  read(*j, "num_attention_heads", c.num_attention_heads);
  read(*j, "num_channels", c.num_channels);
  read(*j, "image_size", c.image_size);
  read(*j, "patch_size", c.patch_size);
  read(*j, "layer_norm_eps", c.layer_norm_eps);
  read(*j, "hidden_act", c.hidden_act);
  read(*j, "use_head", c.use_head);
  read(*j, "vision_use_head", c.use_head);
  read(*j, "feature_layer", c.feature_layer);
  read(*j, "conv_stem", c.conv_stem);
  c.validate();
  return c;
}

nlohmann::json SiglipVisionConfig::to_json() const {
  nlohmann::json j = {{"model_type", "siglip_vision_model"},
                      {"hidden_size", hidden_size},
                      {"intermediate_size", intermediate_size},
                      {"num_hidden_layers", num_hidden_layers},
                      {"num_attention_heads", num_attention_heads},
                      {"num_channels", num_channels},
                      {"image_size", image_size},
                      {"patch_size", patch_size},
                      {"layer_norm_eps", layer_norm_eps},
                      {"hidden_act", hidden_act},
                      {"vision_use_head", use_head},
                      {"feature_layer", feature_layer}};
  // Written only when set, so an HF-architecture tower's config.json stays HF's.
  if (!conv_stem.empty()) j["conv_stem"] = conv_stem;
  return j;
}

void SiglipVisionConfig::validate() const {
  auto positive = [](const char* name, std::int64_t v) {
    if (v <= 0) throw Error(std::string("SigLIP config: ") + name + " must be positive, got " + std::to_string(v));
  };
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_channels", num_channels);
  positive("image_size", image_size);
  positive("patch_size", patch_size);
  if (!(layer_norm_eps > 0)) throw Error("SigLIP config: layer_norm_eps must be positive");
  if (hidden_size % num_attention_heads != 0)
    throw Error("SigLIP config: hidden_size " + std::to_string(hidden_size) + " is not divisible by " +
                std::to_string(num_attention_heads) + " attention heads");
  // Not "divisible": so400m-patch14-384 has 384 = 27 * 14 + 6; its valid-padding convolution drops
  // the last 6 pixel rows and columns, as HF's does.
  if (image_size < patch_size)
    throw Error("SigLIP config: image_size " + std::to_string(image_size) + " is smaller than patch_size " +
                std::to_string(patch_size));
  if (hidden_act != "gelu_pytorch_tanh" && hidden_act != "gelu_new" && hidden_act != "gelu")
    throw Error("SigLIP config: unsupported hidden_act '" + hidden_act + "'");
  if (feature_layer >= num_hidden_layers || feature_layer < -num_hidden_layers)
    throw Error("SigLIP config: feature_layer " + std::to_string(feature_layer) + " is outside a " +
                std::to_string(num_hidden_layers) + "-layer encoder");
  if (!conv_stem.empty()) {
    if (conv_stem.size() > 6)
      throw Error("SigLIP config: conv_stem has " + std::to_string(conv_stem.size()) + " stages, at most 6 fit");
    const std::int64_t stem_patch = std::int64_t{1} << conv_stem.size();
    if (patch_size != stem_patch)
      throw Error("SigLIP config: a conv_stem of " + std::to_string(conv_stem.size()) + " stride-2 stages makes " +
                  std::to_string(stem_patch) + "-pixel patches, but patch_size is " + std::to_string(patch_size));
    for (std::int64_t ch : conv_stem)
      if (ch <= 0) throw Error("SigLIP config: conv_stem channels must be positive, got " + std::to_string(ch));
  }
}

SiglipVisionConfig SiglipVisionConfig::so400m_patch14_384() {
  SiglipVisionConfig c;
  c.hidden_size = 1152;
  c.intermediate_size = 4304;
  c.num_hidden_layers = 27;
  c.num_attention_heads = 16;
  c.image_size = 384;
  c.patch_size = 14;
  return c;
}

SiglipVisionConfig SiglipVisionConfig::small() {
  SiglipVisionConfig c;
  c.hidden_size = 192;
  c.intermediate_size = 768;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 3;
  c.image_size = 128;
  c.patch_size = 8;
  // Only patch features feed the tokenizer; the pooling head would be dead weight.
  c.use_head = false;
  return c;
}

}  // namespace setok::vision
