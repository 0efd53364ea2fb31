#include "core/vision/siglip_layers.h"

#include <cmath>
#include <numeric>

#include "core/nn/precision.h"
#include "core/runtime/error.h"

namespace setok::vision {
namespace {

namespace tnn = torch::nn;

tnn::Linear linear(std::int64_t in, std::int64_t out) {
  // Xavier-uniform weights and zero bias, as HF initialises SigLIP's projections: matters only for
  // models trained here from scratch (the small preset), loaded weights overwrite it.
  tnn::Linear l(tnn::LinearOptions(in, out));
  torch::NoGradGuard no_grad;
  tnn::init::xavier_uniform_(l->weight);
  l->bias.zero_();
  return l;
}

tnn::LayerNorm layer_norm(const SiglipVisionConfig& c) {
  return tnn::LayerNorm(tnn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

// Scaled dot-product attention over heads; q [B,Q,D], k/v [B,N,D] already projected.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads) {
  const auto B = q.size(0), Q = q.size(1), N = k.size(1), D = q.size(2), hd = D / heads;
  auto split = [&](const at::Tensor& t, std::int64_t n) { return t.reshape({B, n, heads, hd}).transpose(1, 2); };
  at::Tensor scores = at::matmul(split(q, Q), split(k, N).transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
  // Softmax in float32 for half-precision weights, as HF does.
  at::Tensor p = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(p, split(v, N)).transpose(1, 2).reshape({B, Q, D});
}

}  // namespace

SiglipVisionEmbeddingsImpl::SiglipVisionEmbeddingsImpl(const SiglipVisionConfig& c) : config(c) {
  if (c.conv_stem.empty()) {
    patch_embedding = register_module(
        "patch_embedding",
        tnn::Conv2d(tnn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size).stride(c.patch_size)));
  } else {
    conv_stem = register_module("conv_stem", tnn::ModuleList());
    std::int64_t in = c.num_channels;
    for (std::int64_t out : c.conv_stem) {
      conv_stem->push_back(tnn::Conv2d(tnn::Conv2dOptions(in, out, 3).stride(2).padding(1).bias(false)));
      // Batch-independent normalisation: the same image gives the same tokens in any batch.
      conv_stem->push_back(tnn::GroupNorm(tnn::GroupNormOptions(std::gcd(out, std::int64_t{8}), out)));
      in = out;
    }
    conv_stem_proj = register_module("conv_stem_proj", tnn::Conv2d(tnn::Conv2dOptions(in, c.hidden_size, 1)));
  }
  position_embedding = register_module("position_embedding", tnn::Embedding(c.num_patches(), c.hidden_size));
  torch::NoGradGuard no_grad;
  // N(0, 1/hidden) as HF: the default N(0, 1) would swamp the patch signal in a fresh model.
  position_embedding->weight.normal_(0.0, 1.0 / std::sqrt(double(c.hidden_size)));
}

at::Tensor SiglipVisionEmbeddingsImpl::position_table(std::int64_t h, std::int64_t w) const {
  const at::Tensor& table = position_embedding->weight;  // [g*g, D]
  const std::int64_t g = config.grid(), D = config.hidden_size;
  if (h == g && w == g) return table;
  // HF's interpolate_pos_encoding: the g x g table as an image, resized bicubically (align_corners
  // false) to the new grid. Float32 because CPU bicubic lacks half-precision kernels.
  at::Tensor img = table.to(at::kFloat).reshape({1, g, g, D}).permute({0, 3, 1, 2});
  at::Tensor resized = at::upsample_bicubic2d(img, {h, w}, /*align_corners=*/false);
  return resized.permute({0, 2, 3, 1}).reshape({h * w, D}).to(table.scalar_type());
}

at::Tensor SiglipVisionEmbeddingsImpl::forward(const at::Tensor& pixels) {
  const std::int64_t p = config.patch_size;
  if (pixels.dim() != 4 || pixels.size(1) != config.num_channels)
    throw Error("SigLIP: expected pixels [B, " + std::to_string(config.num_channels) + ", H, W], got " +
                std::to_string(pixels.dim()) + " dimensions");
  // Sizes that are not multiples of the patch lose their remainder, as the valid convolution does.
  if (pixels.size(2) < p || pixels.size(3) < p)
    throw Error("SigLIP: image " + std::to_string(pixels.size(3)) + "x" + std::to_string(pixels.size(2)) +
                " is smaller than one " + std::to_string(p) + "-pixel patch");
  at::Tensor x;
  if (patch_embedding) {
    x = patch_embedding(pixels.to(patch_embedding->weight.scalar_type()));  // [B, D, h, w]
  } else {
    // Crop to whole patches first, so the stem's grid is the patch Conv2d's (padding would round up).
    const std::int64_t gh = pixels.size(2) / p, gw = pixels.size(3) / p;
    x = pixels.narrow(2, 0, gh * p).narrow(3, 0, gw * p).to(conv_stem_proj->weight.scalar_type());
    for (std::size_t i = 0; i + 1 < conv_stem->size(); i += 2)
      x = at::gelu(conv_stem->ptr(i + 1)->as<tnn::GroupNorm>()->forward(
          nn::autocast_f32(conv_stem->ptr(i)->as<tnn::Conv2d>()->forward(x))));
    x = conv_stem_proj(x);  // [B, D, h, w]
  }
  const std::int64_t h = x.size(2), w = x.size(3);
  x = x.flatten(2).transpose(1, 2);  // [B, h*w, D], row-major patch order
  return x + position_table(h, w).unsqueeze(0);
}

SiglipAttentionImpl::SiglipAttentionImpl(const SiglipVisionConfig& c) : heads(c.num_attention_heads) {
  k_proj = register_module("k_proj", linear(c.hidden_size, c.hidden_size));
  v_proj = register_module("v_proj", linear(c.hidden_size, c.hidden_size));
  q_proj = register_module("q_proj", linear(c.hidden_size, c.hidden_size));
  out_proj = register_module("out_proj", linear(c.hidden_size, c.hidden_size));
}

at::Tensor SiglipAttentionImpl::forward(const at::Tensor& x) {
  return out_proj(attend(q_proj(x), k_proj(x), v_proj(x), heads));
}

SiglipMLPImpl::SiglipMLPImpl(const SiglipVisionConfig& c) : tanh_gelu(c.hidden_act != "gelu") {
  fc1 = register_module("fc1", linear(c.hidden_size, c.intermediate_size));
  fc2 = register_module("fc2", linear(c.intermediate_size, c.hidden_size));
}

at::Tensor SiglipMLPImpl::forward(const at::Tensor& x) { return fc2(at::gelu(fc1(x), tanh_gelu ? "tanh" : "none")); }

SiglipEncoderLayerImpl::SiglipEncoderLayerImpl(const SiglipVisionConfig& c) {
  layer_norm1 = register_module("layer_norm1", layer_norm(c));
  self_attn = register_module("self_attn", SiglipAttention(c));
  layer_norm2 = register_module("layer_norm2", layer_norm(c));
  mlp = register_module("mlp", SiglipMLP(c));
}

at::Tensor SiglipEncoderLayerImpl::forward(const at::Tensor& x) {
  at::Tensor h = x + self_attn(layer_norm1(nn::autocast_f32(x)));
  return h + mlp(layer_norm2(nn::autocast_f32(h)));
}

SiglipEncoderImpl::SiglipEncoderImpl(const SiglipVisionConfig& c) {
  layers = register_module("layers", tnn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    blocks.emplace_back(c);
    layers->push_back(blocks.back());
  }
}

SiglipPoolingAttentionImpl::SiglipPoolingAttentionImpl(const SiglipVisionConfig& c) : heads(c.num_attention_heads) {
  const std::int64_t D = c.hidden_size;
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * D, D}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * D}));
  out_proj = register_module("out_proj", linear(D, D));
  torch::NoGradGuard no_grad;
  tnn::init::xavier_uniform_(in_proj_weight);
}

at::Tensor SiglipPoolingAttentionImpl::forward(const at::Tensor& query, const at::Tensor& kv) {
  auto w = in_proj_weight.chunk(3, 0);
  auto b = in_proj_bias.chunk(3, 0);
  at::Tensor q = at::linear(query, w[0], b[0]);
  at::Tensor k = at::linear(kv, w[1], b[1]);
  at::Tensor v = at::linear(kv, w[2], b[2]);
  return out_proj(attend(q, k, v, heads));
}

SiglipAttentionPoolingHeadImpl::SiglipAttentionPoolingHeadImpl(const SiglipVisionConfig& c) {
  probe = register_parameter("probe", torch::empty({1, 1, c.hidden_size}));
  attention = register_module("attention", SiglipPoolingAttention(c));
  layernorm = register_module("layernorm", layer_norm(c));
  mlp = register_module("mlp", SiglipMLP(c));
  torch::NoGradGuard no_grad;
  tnn::init::xavier_uniform_(probe);
}

at::Tensor SiglipAttentionPoolingHeadImpl::forward(const at::Tensor& x) {
  at::Tensor h = attention(probe.expand({x.size(0), 1, x.size(2)}), x);  // [B, 1, D]
  h = h + mlp(layernorm(nn::autocast_f32(h)));
  return h.select(1, 0);
}

}  // namespace setok::vision
