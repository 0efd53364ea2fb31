#include "core/tokenizer/detokenizer.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/nn/precision.h"
#include "core/nn/rope2d.h"
#include "core/nn/transformer_block.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"
#include "core/tokenizer/token_merger.h"

namespace setok::tokenizer {

DetokenizerOptions DetokenizerOptions::paper() { return DetokenizerOptions(); }

DetokenizerOptions DetokenizerOptions::small() {
  return DetokenizerOptions()
      .token_dim(128)
      .dim(128)
      .layers(2)
      .heads(4)
      .image_size(128)
      .patch_size(8)
      .decoder_channels({128, 64, 64, 32})
      .decoder_res_blocks(1);
}

int64_t DetokenizerOptions::region_width() const {
  return regions_ ? kGeometryDims + region_appearance_ * region_appearance_ : 0;
}

DetokenizerImpl::DetokenizerImpl(const DetokenizerOptions& o) : options(o) {
  if (o.patch_size() <= 0 || o.image_size() % o.patch_size() != 0)
    throw Error("detokenizer image size must be a multiple of its patch size");
  if (o.dim() % o.heads() != 0 || (o.use_rope() && (o.dim() / o.heads()) % 4 != 0))
    throw Error("detokenizer head width must divide its width (and be divisible by 4 for 2D RoPE)");
  const int64_t g = o.grid();
  if (g << (o.decoder_channels().size() - 1) < o.image_size())
    throw Error("detokenizer decoder has too few upsampling stages for its image size");
  queries = register_parameter("queries", at::randn({1, g * g, o.dim()}) * 0.02);
  if (o.query_position())
    query_position_proj =
        register_module("query_position_proj",
                        torch::nn::Linear(torch::nn::LinearOptions(kAbsolutePositionWidth, o.dim()).bias(false)));
  if (o.broadcast()) {
    if (o.broadcast_hidden() < 1) throw Error("detokenizer broadcast_hidden must be at least 1");
    const int64_t h = o.broadcast_hidden();
    broadcast_token = register_module("broadcast_token", torch::nn::Linear(o.token_dim(), h));
    broadcast_place = register_module(
        "broadcast_place", torch::nn::Linear(torch::nn::LinearOptions(kAbsolutePositionWidth, h).bias(false)));
    broadcast_mid = register_module("broadcast_mid", torch::nn::Linear(h, h));
    broadcast_out = register_module("broadcast_out", torch::nn::Linear(h, o.dim() + 1));
  }
  if (o.regions()) {
    if (!o.broadcast()) throw Error("detokenizer regions need the broadcast decoder (broadcast: true)");
    if (o.region_appearance() < 0 || o.region_appearance() > 32)
      throw Error("detokenizer region_appearance must be 0 (none) to 32");
    region_proj = register_module("region_proj", torch::nn::Linear(o.region_width(), o.token_dim()));
    broadcast_relative = register_module(
        "broadcast_relative", torch::nn::Linear(torch::nn::LinearOptions(6, o.broadcast_hidden()).bias(false)));
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers(); ++i)
    blocks->push_back(nn::CrossAttentionBlock(nn::CrossAttentionBlockOptions(o.dim(), o.heads())
                                                  .context_dim(o.token_dim())
                                                  .mlp_ratio(o.mlp_ratio())
                                                  .self_attention(true)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()}).eps(1e-6)));
  decoder = register_module("decoder", PixelDecoder(PixelDecoderOptions(o.dim(), o.decoder_channels())
                                                        .res_blocks(o.decoder_res_blocks())
                                                        .norm_groups(o.decoder_norm_groups())
                                                        .out_size(o.image_size())));
}

at::Tensor DetokenizerImpl::forward(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits,
                                    const at::Tensor& regions) {
  return decoder(query_grid(tokens, token_valid, mask_logits, regions));
}

namespace {

// Where each place lies against each token's region, in patches: [B, P, C, 6] = (x − cx, y − cy,
// x − x0, x1 − x, y − y0, y1 − y), from the descriptors' centres and boxes (coordinates in [-1, 1])
// and the places' patch centres on the g × g grid.
at::Tensor place_against_regions(const at::Tensor& regions, int64_t g) {
  auto r = regions.to(at::kFloat);
  const auto f = r.options();
  auto c = (at::arange(g, f) + 0.5) / static_cast<double>(g) * 2 - 1;
  auto x = c.repeat({g}).view({1, g * g, 1}), y = c.repeat_interleave(g).view({1, g * g, 1});
  auto at_ = [&](int64_t i) { return r.select(2, i).unsqueeze(1); };  // [B, 1, C]
  auto rel = at::stack({x - at_(kGeometryCentre), y - at_(kGeometryCentre + 1), x - at_(kGeometryBox),
                        at_(kGeometryBox + 2) - x, y - at_(kGeometryBox + 1), at_(kGeometryBox + 3) - y},
                       3);
  return rel * (g / 2.0);  // one unit per patch
}

}  // namespace

at::Tensor DetokenizerImpl::query_grid(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits,
                                       const at::Tensor& regions) {
  if (tokens.dim() != 3 || tokens.size(2) != options.token_dim())
    throw Error("detokenizer expects tokens [B, C, " + std::to_string(options.token_dim()) + "]");
  if (token_valid.defined() &&
      (token_valid.dim() != 2 || token_valid.size(0) != tokens.size(0) || token_valid.size(1) != tokens.size(1)))
    throw Error("detokenizer expects token_valid [B, C] matching the tokens");
  const int64_t b = tokens.size(0), g = options.grid();
  at::Tensor context = tokens;  // what the queries read: the tokens, with their regions when given
  if (options.regions()) {
    if (!regions.defined() || regions.dim() != 3 || regions.size(0) != b || regions.size(1) != tokens.size(1) ||
        regions.size(2) != options.region_width())
      throw Error("detokenizer expects region descriptors [B, C, " + std::to_string(options.region_width()) +
                  "] matching the tokens");
    context = tokens + region_proj(regions.to(tokens.scalar_type()));
  }
  nn::Rope2dTable rope;
  if (options.use_rope())
    rope = nn::rope2d_grid_table(g, g, options.dim() / options.heads(), nn::kRope2dTheta, queries.options());
  auto valid = token_valid.defined() ? token_valid.to(at::kBool) : at::Tensor();
  auto q = queries.expand({b, -1, -1});
  at::Tensor table;  // [P, 64], for the options that read each place's position
  if (options.query_position() || options.broadcast()) table = absolute_position_table(g, g, queries.options());
  if (options.query_position()) q = q + query_position_proj(table).unsqueeze(0);
  if (options.broadcast()) {
    // [B, 1, C, h] + [1, P, 1, h] -> per (place, token) feature and logit; softmax over the tokens.
    auto place = broadcast_place(table).unsqueeze(0).unsqueeze(2);
    auto pre = broadcast_token(context).unsqueeze(1) + place;
    if (options.regions()) pre = pre + broadcast_relative(place_against_regions(regions, g).to(pre.scalar_type()));
    auto h = at::gelu(pre);
    auto out = broadcast_out(at::gelu(broadcast_mid(h)));  // [B, P, C, dim + 1]
    auto logits = nn::autocast_f32(out.select(3, options.dim()));
    if (valid.defined()) logits = logits.masked_fill(at::logical_not(valid).unsqueeze(1), -1e4);
    auto weight = at::softmax(logits, 2).to(out.scalar_type());  // [B, P, C]
    q = q + (weight.unsqueeze(3) * out.narrow(3, 0, options.dim())).sum(2);
    if (mask_logits) *mask_logits = logits;
  } else if (mask_logits) {
    *mask_logits = at::Tensor();
  }
  for (const auto& m : *blocks) q = m->as<nn::CrossAttentionBlock>()->forward(q, context, valid, at::Tensor(), rope);
  return norm(nn::autocast_f32(q))
      .transpose(1, 2)
      .reshape({b, options.dim(), g, g});  // row-major queries -> [B, dim, g, g]
}

}  // namespace setok::tokenizer

namespace setok::tokenizer {

std::vector<std::string> residual_outputs(const DetokenizerImpl& d, const std::string& prefix) {
  std::vector<std::string> names;
  auto both = [&](const std::string& layer) {
    names.push_back(layer + ".weight");
    names.push_back(layer + ".bias");
  };
  for (std::size_t i = 0; i < d.blocks->size(); ++i) {
    const std::string b = prefix + "blocks." + std::to_string(i) + ".";
    if ((*d.blocks)[i]->as<nn::CrossAttentionBlock>()->options.self_attention()) both(b + "self_attn.proj");
    both(b + "cross_attn.proj");
    both(b + "mlp.fc2");
  }
  const auto& stages = *d.decoder->stages;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const auto& stage = *stages[s]->as<torch::nn::Sequential>();
    for (std::size_t j = 0; j < stage.size(); ++j)
      if (stage.ptr(j)->as<ResConvBlockImpl>())
        both(prefix + "decoder.stages." + std::to_string(s) + "." + std::to_string(j) + ".conv2");
  }
  return names;
}

}  // namespace setok::tokenizer
