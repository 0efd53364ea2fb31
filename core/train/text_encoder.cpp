#include "core/train/text_encoder.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/nn/precision.h"
#include "core/nn/transformer_block.h"

namespace setok::train {

TextEncoderImpl::TextEncoderImpl(const TextEncoderOptions& o) : options(o) {
  embed = register_module("embed", torch::nn::Embedding(o.vocab_size(), o.dim()));
  position = register_parameter("position", at::randn({1, o.max_len(), o.dim()}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers(); ++i)
    blocks->push_back(nn::TransformerBlock(nn::TransformerBlockOptions(o.dim(), o.heads())));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  proj = register_module("proj", torch::nn::Linear(o.dim(), o.out_dim()));
}

at::Tensor TextEncoderImpl::forward(const at::Tensor& ids_in) {
  at::Tensor ids = ids_in.narrow(1, 0, std::min<int64_t>(ids_in.size(1), options.max_len()));
  at::Tensor valid = ids != 0;  // [B, L]
  at::Tensor x = embed->forward(ids) + position.narrow(1, 0, ids.size(1));
  at::Tensor mask = valid.unsqueeze(1).expand({ids.size(0), ids.size(1), ids.size(1)});
  for (const auto& b : *blocks) x = b->as<nn::TransformerBlock>()->forward(x, mask);
  x = norm->forward(nn::autocast_f32(x));
  at::Tensor w = valid.unsqueeze(2).to(x.scalar_type());
  at::Tensor pooled = (x * w).sum(1) / w.sum(1).clamp_min(1.0);
  return proj->forward(pooled);
}

}  // namespace setok::train
