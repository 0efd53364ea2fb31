#include "core/tokenizer/detokenizer.h"

#include <ATen/ATen.h>

#include "core/nn/precision.h"
#include "core/nn/rope2d.h"
#include "core/nn/transformer_block.h"
#include "core/runtime/error.h"
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
    query_position_proj = register_module(
        "query_position_proj",
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

at::Tensor DetokenizerImpl::forward(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits) {
  return decoder(query_grid(tokens, token_valid, mask_logits));
}

at::Tensor DetokenizerImpl::query_grid(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits) {
  if (tokens.dim() != 3 || tokens.size(2) != options.token_dim())
    throw Error("detokenizer expects tokens [B, C, " + std::to_string(options.token_dim()) + "]");
  if (token_valid.defined() &&
      (token_valid.dim() != 2 || token_valid.size(0) != tokens.size(0) || token_valid.size(1) != tokens.size(1)))
    throw Error("detokenizer expects token_valid [B, C] matching the tokens");
  const int64_t b = tokens.size(0), g = options.grid();
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
    auto h = at::gelu(broadcast_token(tokens).unsqueeze(1) + place);
    auto out = broadcast_out(at::gelu(broadcast_mid(h)));  // [B, P, C, dim + 1]
    auto logits = nn::autocast_f32(out.select(3, options.dim()));
    if (valid.defined()) logits = logits.masked_fill(at::logical_not(valid).unsqueeze(1), -1e4);
    auto weight = at::softmax(logits, 2).to(out.scalar_type());  // [B, P, C]
    q = q + (weight.unsqueeze(3) * out.narrow(3, 0, options.dim())).sum(2);
    if (mask_logits) *mask_logits = logits;
  } else if (mask_logits) {
    *mask_logits = at::Tensor();
  }
  for (const auto& m : *blocks) q = m->as<nn::CrossAttentionBlock>()->forward(q, tokens, valid, at::Tensor(), rope);
  return norm(nn::autocast_f32(q)).transpose(1, 2).reshape({b, options.dim(), g, g});  // row-major queries -> [B, dim, g, g]
}

}  // namespace setok::tokenizer
