#include "core/heads/prompt_encoder.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

namespace setok::heads {

namespace tnn = torch::nn;

namespace {

// LayerNorm over the channels of [B, C, H, W] (SAM's LayerNorm2d), as a module for Sequential.
struct ChannelNormImpl : tnn::Module {
  explicit ChannelNormImpl(std::int64_t c) {
    weight = register_parameter("weight", at::ones({c}));
    bias = register_parameter("bias", at::zeros({c}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y = at::layer_norm(x.permute({0, 2, 3, 1}), {x.size(1)}, weight, bias, 1e-6);
    return y.permute({0, 3, 1, 2});
  }
  at::Tensor weight, bias;
};
TORCH_MODULE(ChannelNorm);

// The language model's states are large and unevenly scaled: normalised first.
tnn::Sequential two_layer_mlp(std::int64_t in, std::int64_t width) {
  return tnn::Sequential(tnn::LayerNorm(tnn::LayerNormOptions({in})), tnn::Linear(in, width), tnn::GELU(),
                         tnn::Linear(width, width));
}

}  // namespace

PromptEncoderImpl::PromptEncoderImpl(const MaskDecoderConfig& c) : config(c) {
  const std::int64_t w = c.width;
  pe = register_module("pe_layer", FourierPosition(w, c.fourier_scale));
  point_embed = register_module("point_embeddings", tnn::Embedding(4, w));
  not_a_point = register_parameter("not_a_point_embed", at::randn({w}) * 0.02);
  no_mask = register_parameter("no_mask_embed", at::randn({w}) * 0.02);
  const std::int64_t m = std::max<std::int64_t>(4, w / 4);
  mask_downscale = register_module(
      "mask_downscaling", tnn::Sequential(tnn::Conv2d(tnn::Conv2dOptions(1, m / 4, 2).stride(2)), ChannelNorm(m / 4),
                                          tnn::GELU(), tnn::Conv2d(tnn::Conv2dOptions(m / 4, m, 2).stride(2)),
                                          ChannelNorm(m), tnn::GELU(), tnn::Conv2d(tnn::Conv2dOptions(m, w, 1))));
  if (c.language_dim > 0) {
    language_kind = register_parameter("language_embed", at::randn({w}) * 0.02);
    visual_kind = register_parameter("visual_embed", at::randn({w}) * 0.02);
    referred = register_parameter("referred_embed", at::randn({w}) * 0.02);
    language_mlp = register_module("language_mlp", two_layer_mlp(c.language_dim, w));
    visual_mlp = register_module("visual_mlp", two_layer_mlp(c.language_dim, w));
    token_mlp = register_module("token_mlp", two_layer_mlp(c.language_dim, w));
    word_mlp = register_module("word_mlp", two_layer_mlp(c.language_dim, w));
    relevance_attn = register_module("relevance_attn", PromptAttention(w, c.heads, w));
    relevance_fuse =
        register_module("relevance_fuse", tnn::Sequential(tnn::LayerNorm(tnn::LayerNormOptions({5 * w})),
                                                          tnn::Linear(5 * w, w), tnn::GELU(), tnn::Linear(w, 1)));
  }
}

at::Tensor PromptEncoderImpl::image_pe() { return pe->grid(config.grid); }

at::Tensor PromptEncoderImpl::encode_points(const Prompts& p) {
  // Box corners and points share one list; padding rows get "not a point" and no position.
  at::Tensor labels = p.labels.to(at::kLong);
  at::Tensor pad = labels.eq(kPadPoint).unsqueeze(-1).to(not_a_point.dtype());
  at::Tensor kind = point_embed->forward(labels.clamp_min(0));
  at::Tensor pos = pe->forward(p.points);
  return (pos + kind) * (1 - pad) + not_a_point * pad;
}

at::Tensor PromptEncoderImpl::encode_dense(const Prompts& p, std::int64_t batch) {
  const std::int64_t g = config.grid;
  at::Tensor none = no_mask.view({1, -1, 1, 1}).expand({batch, -1, g, g});
  if (!p.dense.defined()) return none;
  at::Tensor d = mask_downscale->forward(p.dense.to(no_mask.dtype()));
  at::Tensor use = p.dense_valid.to(no_mask.dtype()).view({batch, 1, 1, 1});
  return d * use + none * (1 - use);
}

void PromptEncoderImpl::encode_language(const Prompts& p, std::vector<at::Tensor>& sparse, EncodedPrompts& out) {
  at::Tensor lang_valid = p.language_valid.unsqueeze(-1).to(not_a_point.dtype());
  const std::int64_t d = config.language_dim;
  at::Tensor in = p.language.to(not_a_point.dtype());
  at::Tensor lang = language_mlp->forward(in.narrow(2, 0, d)) + word_mlp->forward(in.narrow(2, d, d)) + language_kind;
  lang = lang * lang_valid + not_a_point * (1 - lang_valid);
  sparse.push_back(lang);
  if (!p.visual.defined()) return;
  at::Tensor vis_valid = p.visual_valid.unsqueeze(-1).to(not_a_point.dtype());
  at::Tensor vis = visual_mlp->forward(p.visual.to(not_a_point.dtype())) +
                   token_mlp->forward(p.visual_input.to(not_a_point.dtype())) + pe->forward(p.visual_centroid);
  // Which visual tokens does the request mean? Each token reads the request; products of the token
  // with what it read and with the whole request (mean) let a small MLP compare them.
  at::Tensor read = relevance_attn->forward(vis, lang, lang, p.language_valid);
  at::Tensor lv = p.language_valid.unsqueeze(-1).to(lang.dtype());
  at::Tensor whole = ((lang * lv).sum(1, true) / lv.sum(1, true).clamp_min(1)).expand_as(vis);
  out.relevance = relevance_fuse->forward(at::cat({vis, read, vis * read, whole, vis * whole}, -1)).squeeze(-1);
  at::Tensor r = at::sigmoid(out.relevance).unsqueeze(-1) * vis_valid;
  vis = vis + visual_kind + r * referred;
  sparse.push_back(vis * vis_valid + not_a_point * (1 - vis_valid));
  // The referred tokens' patches are marked in the image embedding.
  at::Tensor per_patch = at::gather(r.squeeze(-1), 1, p.assignment.to(at::kLong).clamp_min(0));
  const std::int64_t g = config.grid;
  out.dense = out.dense + per_patch.view({-1, 1, g, g}) * referred.view({1, -1, 1, 1});
}

EncodedPrompts PromptEncoderImpl::forward(const Prompts& p) {
  std::int64_t batch = 0;
  for (const at::Tensor* t : {&p.points, &p.language, &p.dense})
    if (t->defined()) batch = t->size(0);
  EncodedPrompts out;
  out.dense = encode_dense(p, batch);
  std::vector<at::Tensor> sparse;
  if (p.points.defined() && p.points.size(1) > 0) sparse.push_back(encode_points(p));
  if (p.language.defined() && config.language_dim > 0) encode_language(p, sparse, out);
  out.sparse = sparse.empty() ? not_a_point.view({1, 1, -1}).expand({batch, 1, -1}) : at::cat(sparse, 1);
  return out;
}

}  // namespace setok::heads
