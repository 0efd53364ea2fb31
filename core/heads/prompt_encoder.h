#pragma once
// The mask decoder's prompts, as SAM's prompt encoder makes them and as LISA feeds a language model
// into it:
//   - points and box corners: their Fourier encoding plus a learned embedding per kind (negative,
//     positive, box top-left, box bottom-right; padding gets "not a point");
//   - the language model's states over a referring request (the request's words and the [SEG]
//     token after "ASSISTANT:"), each through a 2-layer MLP to the decoder's width;
//   - the image's visual tokens, as the language model reads them (the projector's output) and as it
//     holds them (its final states there), each through its own MLP, summed, at the
//     Fourier encoding of its region's centroid. A relevance head reads each visual token against the
//     request and says which tokens the request refers to; those tokens' patches are marked in the
//     image embedding, and the tokens join the prompts with their relevance;
//   - a previous mask's low-resolution logits as a dense prompt (two strided convolutions to the
//     patch grid), or a learned "no mask" embedding.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/heads/fourier_position.h"
#include "core/heads/mask_decoder_config.h"
#include "core/heads/two_way_transformer.h"

namespace setok::heads {

// Point labels.
inline constexpr std::int64_t kPadPoint = -1, kNegative = 0, kPositive = 1, kBoxTopLeft = 2, kBoxBottomRight = 3;

// One batch of prompts; any part may be undefined (absent for the whole batch).
struct Prompts {
  at::Tensor points;                    // [B, P, 2] (x, y) in [0, 1] of the model's square input
  at::Tensor labels;                    // [B, P] long: kPadPoint, kNegative, kPositive, kBoxTopLeft, kBoxBottomRight
  at::Tensor language, language_valid;  // [B, T, 2 × language_dim] states and input embeddings, [B, T] bool
  at::Tensor visual, visual_valid;      // [B, C, language_dim] states of the visual tokens, [B, C] bool
  at::Tensor visual_input;              // [B, C, language_dim] the visual tokens as the language model reads them
  at::Tensor visual_centroid;           // [B, C, 2] (x, y) in [0, 1]
  at::Tensor assignment;                // [B, N] long: the visual token of each patch
  at::Tensor dense, dense_valid;        // [B, 1, low_res, low_res] logits, [B] bool
};

struct EncodedPrompts {
  at::Tensor sparse;     // [B, S, width]
  at::Tensor dense;      // [B, width, grid, grid]
  at::Tensor relevance;  // [B, C] logits of "the request refers to this visual token" (undefined without language)
};

struct PromptEncoderImpl : torch::nn::Module {
  explicit PromptEncoderImpl(const MaskDecoderConfig& c);
  EncodedPrompts forward(const Prompts& p);
  at::Tensor image_pe();  // [grid * grid, width]

  MaskDecoderConfig config;
  FourierPosition pe{nullptr};
  torch::nn::Embedding point_embed{nullptr};  // negative, positive, box top-left, box bottom-right
  at::Tensor not_a_point, no_mask, language_kind, visual_kind, referred;
  torch::nn::Sequential mask_downscale{nullptr};
  torch::nn::Sequential language_mlp{nullptr}, word_mlp{nullptr}, visual_mlp{nullptr}, token_mlp{nullptr};
  torch::nn::Sequential relevance_fuse{nullptr};
  PromptAttention relevance_attn{nullptr};

 private:
  at::Tensor encode_points(const Prompts& p);
  at::Tensor encode_dense(const Prompts& p, std::int64_t batch);
  void encode_language(const Prompts& p, std::vector<at::Tensor>& sparse, EncodedPrompts& out);
};
TORCH_MODULE(PromptEncoder);

}  // namespace setok::heads
