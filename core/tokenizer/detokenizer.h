#pragma once
// SeTok's detokenizer (§2.1, D.1): a variable number of visual tokens -> an image. A fixed grid of
// mask queries attends to the tokens (L blocks), then a CNN pixel decoder paints the pixels.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "core/tokenizer/pixel_decoder.h"

namespace setok::tokenizer {

struct DetokenizerOptions {
  TORCH_ARG(int64_t, token_dim) = 512;  // d_tok of the merger's tokens
  TORCH_ARG(int64_t, dim) = 768;        // width of the mask-query blocks
  TORCH_ARG(int64_t, layers) = 12;
  TORCH_ARG(int64_t, heads) = 12;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(int64_t, image_size) = 384;
  // One mask query per patch_size × patch_size output patch: (image_size / patch_size)² queries.
  TORCH_ARG(int64_t, patch_size) = 16;
  // 2D RoPE in the queries' self-attention, on top of their learnt (per-patch) embeddings.
  TORCH_ARG(bool, use_rope) = true;
  // Adds the merger's fixed 2D sinusoidal table of each output patch's place, through a linear layer,
  // to the learnt queries. Without it the queries differ only by their small learnt embeddings
  // (drawn at 0.02) and RoPE, which turns q/k but not the values: every query's cross-attention
  // reads the same mixture of the tokens and the picture comes out flat
  // (docs/design/merger-detokenizer.md). Off by default, so earlier models load as they were.
  TORCH_ARG(bool, query_position) = false;
  // Not in the paper: before the blocks, every token is broadcast to every place (after Slot
  // Attention's spatial broadcast decoder): an MLP of the token and the place's position table
  // gives a feature and a mask logit, the logits are a softmax over the tokens at each place, and
  // the masked sum of the features is added to the queries. The decoder thereby says, from the
  // tokens alone, where each token lies (`mask_logits`), which training can supervise with the
  // clustering's masks (decoder_mask_weight in the SeTok trainer). Off by default.
  TORCH_ARG(bool, broadcast) = false;
  TORCH_ARG(int64_t, broadcast_hidden) = 256;
  // Not in the paper: each token also brings its region descriptor (token_geometry.h: colour,
  // place, size, box, silhouette; what SeTokim's language model reads beside each token). It is
  // added to the token through a linear layer, and the broadcast MLP also reads where each place
  // lies against each token's region (six numbers in patches: to its centre in x and y, to its
  // box's four sides). The token vectors alone say too little of where their cluster lies for a
  // small model to draw a layout (docs/design/merger-detokenizer.md). Needs broadcast.
  TORCH_ARG(bool, regions) = false;
  TORCH_ARG(int64_t, region_appearance) = 0;  // N of token_geometry's N × N appearance map (0: none)
  // Pixel decoder widths: [0] at the query grid, then one per ×2 upsampling; the grid must reach
  // image_size after them (a bilinear resize covers a non-power-of-two patch size).
  TORCH_ARG(std::vector<int64_t>, decoder_channels) = std::vector<int64_t>{512, 256, 256, 128, 128};
  TORCH_ARG(int64_t, decoder_res_blocks) = 2;
  TORCH_ARG(int64_t, decoder_norm_groups) = 32;  // PixelDecoderOptions::norm_groups

 public:
  int64_t grid() const { return image_size_ / patch_size_; }
  // Numbers per token in the region descriptors the detokenizer reads (0 without regions).
  int64_t region_width() const;

  // D.1: 12 blocks; 384 px from 24 × 24 queries; TiTok-B-like width.
  static DetokenizerOptions paper();
  // The bundled small model: 128-d tokens, 128 px from 16 × 16 queries, width 128, 2 blocks.
  static DetokenizerOptions small();
};

struct DetokenizerImpl : torch::nn::Module {
  explicit DetokenizerImpl(const DetokenizerOptions& options);

  // tokens [B, C, token_dim], token_valid [B, C] bool (undefined = all valid) -> pixels [B, 3, H, W]
  // in the encoder's input space (mean 0.5 / std 0.5, about [-1, 1]). Padded tokens have no effect.
  // With broadcast, `mask_logits` (when given) receives each place's logits over the tokens,
  // [B, grid², C] row-major, padded tokens at -1e4. With regions, `regions` [B, C, region_width()]
  // is each token's descriptor (token_geometry); required then, ignored otherwise.
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& token_valid = {}, at::Tensor* mask_logits = nullptr,
                     const at::Tensor& regions = {});
  // What the pixel decoder is given: the queries after their blocks, [B, dim, grid, grid].
  at::Tensor query_grid(const at::Tensor& tokens, const at::Tensor& token_valid = {}, at::Tensor* mask_logits = nullptr,
                        const at::Tensor& regions = {});

  DetokenizerOptions options;
  at::Tensor queries;                              // [1, grid², dim]: the learnt mask queries, one per output patch
  torch::nn::Linear query_position_proj{nullptr};  // query_position: table [grid², 64] -> dim
  // broadcast: token -> hidden, place table -> hidden, hidden -> hidden, hidden -> dim + 1 (feature, logit)
  torch::nn::Linear broadcast_token{nullptr}, broadcast_place{nullptr}, broadcast_mid{nullptr}, broadcast_out{nullptr};
  // regions: descriptor -> token_dim (added to the tokens), place-against-region (6) -> hidden
  torch::nn::Linear region_proj{nullptr}, broadcast_relative{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  PixelDecoder decoder{nullptr};
};
TORCH_MODULE(Detokenizer);

// The state-dict names (under `prefix`, e.g. "detokenizer.") of the last layer of every residual
// branch of `d`: each block's self- and cross-attention output projections and MLP output layer,
// and each pixel decoder residual block's second convolution. With these zeroed a branch adds
// nothing, so a block or residual block added to a trained detokenizer starts as the identity
// (`grow` in docs/design/setok-training.md).
std::vector<std::string> residual_outputs(const DetokenizerImpl& d, const std::string& prefix);

}  // namespace setok::tokenizer
