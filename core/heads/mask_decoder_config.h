#pragma once
// The mask decoder's sizes (mask_decoder.json beside a SeTokim's model.safetensors). SAM's decoder
// is 256 wide with 8 heads over a 64 × 64 image embedding; ours reads the small SeTok encoder's
// 16 × 16 patch features of a 128-px image, so it is narrower.
#include <cstdint>
#include <nlohmann/json.hpp>

namespace setok::heads {

struct MaskDecoderConfig {
  std::int64_t feature_dim = 192;  // the vision encoder's patch feature width
  std::int64_t grid = 16;          // patches per side
  std::int64_t image_size = 128;   // the model's square input
  std::int64_t width = 64;         // transformer width
  std::int64_t depth = 2;          // two-way blocks
  std::int64_t heads = 4;
  std::int64_t mlp_dim = 256;
  std::int64_t cross_downsample = 2;          // cross-attention runs at width / this (SAM: 2)
  std::int64_t multimask = 3;                 // alternatives for an ambiguous prompt (plus one single mask)
  std::int64_t upscale1 = 32, upscale2 = 16;  // channels after each ×2 transposed convolution
  std::int64_t refine_channels = 16;          // the full-resolution refinement over the pixels (0: none)
  std::int64_t language_dim = 256;            // the language model's width (0: clicks only)
  double fourier_scale = 1.0;                 // σ of the random Fourier features
  bool trained = false;

  std::int64_t masks() const { return multimask + 1; }
  std::int64_t low_res() const { return grid * 4; }  // side of the masks before refinement
  nlohmann::json to_json() const;
  // Throws setok::Error naming a missing or out-of-range key.
  static MaskDecoderConfig from_json(const nlohmann::json& j);
};

}  // namespace setok::heads
