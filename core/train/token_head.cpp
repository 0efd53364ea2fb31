#include "core/train/token_head.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "core/nn/precision.h"
#include "core/runtime/error.h"

namespace setok::train {

TokenHeadImpl::TokenHeadImpl(int64_t dim, int64_t hidden) {
  if (dim < 1 || hidden < 1) throw Error("token head: dim and hidden must be positive");
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
  torch::NoGradGuard ng;
  fc2->weight.zero_();
  fc2->bias.zero_();
}

at::Tensor TokenHeadImpl::forward(const at::Tensor& tokens) {
  at::Tensor h = norm->forward(nn::autocast_f32(tokens));
  return tokens + fc2->forward(at::gelu(fc1->forward(h)));
}

}  // namespace setok::train
