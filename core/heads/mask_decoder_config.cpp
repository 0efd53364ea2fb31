#include "core/heads/mask_decoder_config.h"

#include <string>

#include "core/runtime/error.h"

namespace setok::heads {

namespace {

void read(const nlohmann::json& j, const char* key, std::int64_t& v, std::int64_t lo, std::int64_t hi) {
  if (!j.contains(key)) return;
  if (!j[key].is_number_integer()) throw Error(std::string("mask decoder config: \"") + key + "\" is not an integer");
  v = j[key].get<std::int64_t>();
  if (v < lo || v > hi)
    throw Error(std::string("mask decoder config: \"") + key + "\" = " + std::to_string(v) + " is outside " +
                std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

nlohmann::json MaskDecoderConfig::to_json() const {
  return {{"model_type", "setok_mask_decoder"},
          {"feature_dim", feature_dim},
          {"grid", grid},
          {"image_size", image_size},
          {"width", width},
          {"depth", depth},
          {"heads", heads},
          {"mlp_dim", mlp_dim},
          {"cross_downsample", cross_downsample},
          {"multimask", multimask},
          {"upscale1", upscale1},
          {"upscale2", upscale2},
          {"refine_channels", refine_channels},
          {"language_dim", language_dim},
          {"fourier_scale", fourier_scale},
          {"trained", trained}};
}

MaskDecoderConfig MaskDecoderConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("mask decoder config: not a JSON object");
  MaskDecoderConfig c;
  read(j, "feature_dim", c.feature_dim, 1, 1 << 16);
  read(j, "grid", c.grid, 1, 1024);
  read(j, "image_size", c.image_size, 8, 1 << 14);
  read(j, "width", c.width, 8, 4096);
  read(j, "depth", c.depth, 1, 16);
  read(j, "heads", c.heads, 1, 64);
  read(j, "mlp_dim", c.mlp_dim, 8, 1 << 15);
  read(j, "cross_downsample", c.cross_downsample, 1, 8);
  read(j, "multimask", c.multimask, 0, 8);
  read(j, "upscale1", c.upscale1, 4, 1024);
  read(j, "upscale2", c.upscale2, 4, 1024);
  read(j, "refine_channels", c.refine_channels, 0, 256);
  read(j, "language_dim", c.language_dim, 0, 1 << 16);
  if (j.contains("fourier_scale")) c.fourier_scale = j["fourier_scale"].get<double>();
  if (j.contains("trained")) c.trained = j["trained"].get<bool>();
  if (c.width % c.heads != 0 || (c.width / c.cross_downsample) % c.heads != 0)
    throw Error("mask decoder config: \"width\" must divide by \"heads\" (also after \"cross_downsample\")");
  if (c.width % 2 != 0) throw Error("mask decoder config: \"width\" must be even (Fourier features)");
  return c;
}

}  // namespace setok::heads
