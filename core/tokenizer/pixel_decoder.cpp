#include "core/tokenizer/pixel_decoder.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/container/sequential.h>

#include <numeric>

#include "core/nn/precision.h"
#include "core/runtime/error.h"

namespace setok::tokenizer {
namespace {
torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}
torch::nn::GroupNorm group_norm(int64_t channels, int64_t groups) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::gcd<int64_t>(groups, channels), channels).eps(1e-6));
}
}  // namespace

ResConvBlockImpl::ResConvBlockImpl(int64_t c, int64_t groups) {
  norm1 = register_module("norm1", group_norm(c, groups));
  conv1 = register_module("conv1", conv3x3(c, c));
  norm2 = register_module("norm2", group_norm(c, groups));
  conv2 = register_module("conv2", conv3x3(c, c));
}

at::Tensor ResConvBlockImpl::forward(const at::Tensor& x) {
  auto y = conv1(at::silu(norm1(nn::autocast_f32(x))));
  return x + conv2(at::silu(norm2(nn::autocast_f32(y))));
}

PixelDecoderImpl::PixelDecoderImpl(const PixelDecoderOptions& o) : options(o) {
  const auto& ch = o.channels();
  if (ch.empty()) throw Error("pixel decoder needs at least one channel width");
  if (o.norm_groups() < 1) throw Error("pixel decoder norm_groups must be at least 1");
  conv_in = register_module("conv_in", conv3x3(o.in_channels(), ch[0]));
  stages = register_module("stages", torch::nn::ModuleList());
  for (std::size_t s = 0; s < ch.size(); ++s) {
    torch::nn::Sequential stage;
    // Nearest ×2 then a 3×3 conv: no checkerboard, and no ConvTranspose2d.
    if (s > 0) stage->push_back(conv3x3(ch[s - 1], ch[s]));
    for (int64_t r = 0; r < o.res_blocks(); ++r) stage->push_back(ResConvBlock(ch[s], o.norm_groups()));
    stages->push_back(stage);
  }
  norm_out = register_module("norm_out", group_norm(ch.back(), o.norm_groups()));
  conv_out = register_module("conv_out", conv3x3(ch.back(), o.out_channels()));
}

at::Tensor PixelDecoderImpl::forward(const at::Tensor& x) {
  namespace F = torch::nn::functional;
  auto y = conv_in(x);
  for (std::size_t s = 0; s < stages->size(); ++s) {
    if (s > 0)
      y = F::interpolate(
          y,
          F::InterpolateFuncOptions().size(std::vector<int64_t>{y.size(2) * 2, y.size(3) * 2}).mode(torch::kNearest));
    y = stages[s]->as<torch::nn::Sequential>()->forward(y);
  }
  if (options.out_size() > 0 && (y.size(2) != options.out_size() || y.size(3) != options.out_size()))
    y = F::interpolate(y, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{options.out_size(), options.out_size()})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  return conv_out(at::silu(norm_out(nn::autocast_f32(y))));
}

}  // namespace setok::tokenizer
