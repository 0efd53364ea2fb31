#pragma once
// SAM's two-way transformer (Kirillov et al. 2023): prompt tokens and image tokens attend to each
// other. Each block: the tokens' self-attention, tokens → image cross-attention, an MLP on the
// tokens, image → tokens cross-attention; positional encodings are added to queries and keys at
// every attention, never to values. A last tokens → image attention ends it.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace setok::heads {

// Attention with its own width inside (SAM's cross-attention runs at half width).
struct PromptAttentionImpl : torch::nn::Module {
  PromptAttentionImpl(std::int64_t dim, std::int64_t heads, std::int64_t inner);
  // q [B, Nq, dim], k [B, Nk, dim], v [B, Nk, dim] → [B, Nq, dim]. key_valid [B, Nk] bool (undefined:
  // all); a query with no valid key gets zeros.
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_valid = {});
  std::int64_t heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(PromptAttention);

struct TwoWayBlockImpl : torch::nn::Module {
  TwoWayBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t mlp_dim, std::int64_t cross_downsample,
                  bool skip_first_pe);
  // tokens [B, T, dim], image [B, N, dim]; their positional encodings alike. Updates both.
  void forward(at::Tensor& tokens, at::Tensor& image, const at::Tensor& token_pe, const at::Tensor& image_pe);
  bool skip_first_pe;
  PromptAttention self_attn{nullptr}, to_image{nullptr}, to_tokens{nullptr};
  torch::nn::Linear mlp1{nullptr}, mlp2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr}, norm4{nullptr};
};
TORCH_MODULE(TwoWayBlock);

struct TwoWayTransformerImpl : torch::nn::Module {
  TwoWayTransformerImpl(std::int64_t depth, std::int64_t dim, std::int64_t heads, std::int64_t mlp_dim,
                        std::int64_t cross_downsample);
  // The same shapes as TwoWayBlock; tokens and image come back updated.
  void forward(at::Tensor& tokens, at::Tensor& image, const at::Tensor& token_pe, const at::Tensor& image_pe);
  torch::nn::ModuleList blocks{nullptr};
  PromptAttention final_attn{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace setok::heads
