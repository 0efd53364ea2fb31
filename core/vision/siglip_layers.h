#pragma once
// The building blocks of a SigLIP vision tower, each registered under HuggingFace's name so that
// the tower's state dict is HF's (modeling_siglip: SiglipVisionEmbeddings, SiglipAttention,
// SiglipMLP, SiglipEncoderLayer, SiglipEncoder, SiglipMultiheadAttentionPoolingHead).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/vision/siglip_config.h"

namespace setok::vision {

// Patch embedding (Conv2d, kernel = stride = patch) plus a learned position table of
// num_patches rows; no CLS token. Other resolutions get a bicubically resized table.
// With config.conv_stem set, a convolutional stem replaces the patch Conv2d: per stage
// conv_stem.{2i} (3x3, stride 2, no bias) and conv_stem.{2i+1} (GroupNorm) then GELU, and
// conv_stem_proj (1x1 to hidden); same output grid, same position table.
struct SiglipVisionEmbeddingsImpl : torch::nn::Module {
  explicit SiglipVisionEmbeddingsImpl(const SiglipVisionConfig& c);
  // pixels [B, C, H, W] -> [B, floor(H/p)*floor(W/p), hidden], row-major patch order.
  at::Tensor forward(const at::Tensor& pixels);
  // The position table for an h x w patch grid: [h*w, hidden].
  at::Tensor position_table(std::int64_t h, std::int64_t w) const;

  SiglipVisionConfig config;
  torch::nn::Conv2d patch_embedding{nullptr};  // null with a conv stem
  torch::nn::ModuleList conv_stem{nullptr};    // null without one
  torch::nn::Conv2d conv_stem_proj{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
};
TORCH_MODULE(SiglipVisionEmbeddings);

// Multi-head self-attention, scale head_dim^-0.5, softmax in float32 as HF does.
struct SiglipAttentionImpl : torch::nn::Module {
  explicit SiglipAttentionImpl(const SiglipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x);  // [B, N, hidden] -> [B, N, hidden]

  std::int64_t heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(SiglipAttention);

struct SiglipMLPImpl : torch::nn::Module {
  explicit SiglipMLPImpl(const SiglipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x);

  bool tanh_gelu;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SiglipMLP);

// Pre-norm block: x + attn(ln1(x)), then x + mlp(ln2(x)).
struct SiglipEncoderLayerImpl : torch::nn::Module {
  explicit SiglipEncoderLayerImpl(const SiglipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  SiglipAttention self_attn{nullptr};
  SiglipMLP mlp{nullptr};
};
TORCH_MODULE(SiglipEncoderLayer);

// Holds the ModuleList "layers" so the names read encoder.layers.{i}.…
struct SiglipEncoderImpl : torch::nn::Module {
  explicit SiglipEncoderImpl(const SiglipVisionConfig& c);
  SiglipEncoderLayerImpl& layer(std::size_t i) { return *blocks[i]; }
  std::size_t size() const { return blocks.size(); }

  torch::nn::ModuleList layers;
  std::vector<SiglipEncoderLayer> blocks;  // the same modules, typed
};
TORCH_MODULE(SiglipEncoder);

// torch.nn.MultiheadAttention's parameters (packed in_proj_*, out_proj), which is what HF's head
// holds and therefore what its checkpoints name.
struct SiglipPoolingAttentionImpl : torch::nn::Module {
  explicit SiglipPoolingAttentionImpl(const SiglipVisionConfig& c);
  at::Tensor forward(const at::Tensor& query, const at::Tensor& kv);  // [B,Q,D], [B,N,D] -> [B,Q,D]

  std::int64_t heads;
  at::Tensor in_proj_weight, in_proj_bias;  // [3D, D], [3D]: q, k, v stacked
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(SiglipPoolingAttention);

// Multihead attention pooling (MAP): a learned probe attends over the patches; -> [B, hidden].
struct SiglipAttentionPoolingHeadImpl : torch::nn::Module {
  explicit SiglipAttentionPoolingHeadImpl(const SiglipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor probe;  // [1, 1, hidden]
  SiglipPoolingAttention attention{nullptr};
  torch::nn::LayerNorm layernorm{nullptr};
  SiglipMLP mlp{nullptr};
};
TORCH_MODULE(SiglipAttentionPoolingHead);

}  // namespace setok::vision
