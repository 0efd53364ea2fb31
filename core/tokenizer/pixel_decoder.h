#pragma once
// CNN pixel decoder of the detokenizer (after TiTok/MaskGIT's): a feature grid [B, C, h, w] -> pixels.
// Upsampling is nearest ×2 + 3×3 conv, never ConvTranspose2d (see docs/design/merger-detokenizer.md).
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace setok::tokenizer {

// GroupNorm -> SiLU -> conv3×3, twice, plus the input.
struct ResConvBlockImpl : torch::nn::Module {
  explicit ResConvBlockImpl(int64_t channels, int64_t norm_groups = 32);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(ResConvBlock);

struct PixelDecoderOptions {
  PixelDecoderOptions(int64_t in_channels, std::vector<int64_t> channels)
      : in_channels_(in_channels), channels_(std::move(channels)) {}
  TORCH_ARG(int64_t, in_channels);
  // channels[0]: width at the input grid; channels[s]: width after the s-th ×2 upsampling.
  TORCH_ARG(std::vector<int64_t>, channels);
  TORCH_ARG(int64_t, res_blocks) = 2;  // per resolution
  TORCH_ARG(int64_t, out_channels) = 3;
  // Output side; 0 = input side × 2^(channels.size() - 1). Otherwise resized (bilinear) before the last conv.
  TORCH_ARG(int64_t, out_size) = 0;
  // GroupNorm groups: gcd(norm_groups, channels). At 32 a 32-channel stage normalises every channel
  // on its own (an instance norm), which takes each channel's mean and spread over the image away;
  // 8 keeps groups of at least 4 channels at the small decoder's widths.
  TORCH_ARG(int64_t, norm_groups) = 32;
};

struct PixelDecoderImpl : torch::nn::Module {
  explicit PixelDecoderImpl(const PixelDecoderOptions& options);
  at::Tensor forward(const at::Tensor& x);

  PixelDecoderOptions options;
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList stages{nullptr};  // per resolution: [upsample conv,] res blocks
  torch::nn::GroupNorm norm_out{nullptr};
};
TORCH_MODULE(PixelDecoder);

}  // namespace setok::tokenizer
