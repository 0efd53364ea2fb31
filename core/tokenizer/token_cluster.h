#pragma once
// Token Cluster (paper §2.1, Algorithm 1): groups an image's patch features into a variable number
// of masks, batched over images with padding. The algorithm and its choices: docs/design/tokenizer.md.
// What tidies its result at inference (islands, small regions, edges): token_cleanup.h.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/tokenizer/cluster_options.h"

namespace setok::tokenizer {

struct ClusterResult {
  at::Tensor masks;        // [B,N,C]: hard mode one-hot rows (straight-through gradient), soft mode rows sum to 1
  at::Tensor soft_masks;   // [B,N,C]: the stick-breaking masks before hardening (rows sum to 1, less the
                           // mass of hard-mode tokens dropped for having no patch)
  at::Tensor token_valid;  // [B,C] bool; C = the largest token count in the batch
  at::Tensor num_tokens;   // [B] int64
  at::Tensor seeds;        // [B,C] int64: the seed patch of each token, -1 for the final scope and padding
  at::Tensor density;      // [B,N] ρ
  at::Tensor score;        // [B,N] seed score s = ρ·δ
};

// The plain LibTorch implementation: differentiable, any device. `bandwidth` may be a learnable
// scalar tensor; undefined means params.effective_bandwidth().
ClusterResult cluster_reference(const at::Tensor& x, const ClusterParams& params,
                                const at::Tensor& bandwidth = at::Tensor());

// x [B, N, D] with each patch's unit-length feature followed by weight × its (x, y) on a square
// grid in [-1, 1] (row-major patches); x itself when weight is 0. See ClusterParams::position_weight.
at::Tensor with_grid_position(const at::Tensor& x, double weight);

// The same algorithm through kernels/ (fused CPU loop, or CUDA): forward only, no autograd.
ClusterResult cluster_fast(const at::Tensor& x, const ClusterParams& params);

// Turns stick-breaking masks into the result's masks for the mode (hard: one-hot of the argmax
// over valid tokens, with the soft masks' gradient).
at::Tensor harden(const at::Tensor& soft_masks, const at::Tensor& token_valid, ClusterMode mode);

struct TokenClusterOptions {
  ClusterParams params;
  bool learnable_bandwidth = false;
};

class TokenClusterImpl : public torch::nn::Module {
 public:
  explicit TokenClusterImpl(TokenClusterOptions options = {});
  // x: [B,N,D] patch features, clustered with `params` (the request's settings: the module keeps
  // none). Uses the fused kernels when no gradient is needed. An explicit params.bandwidth wins;
  // 0 means the module's own σ (the learnt one, else the paper's automatic 1/(C·ln 2)).
  ClusterResult forward(const at::Tensor& x, const ClusterParams& params);
  // The same with the settings the module was built with.
  ClusterResult forward(const at::Tensor& x) { return forward(x, options_.params); }
  const TokenClusterOptions& options() const { return options_; }
  // σ: the learnt parameter when there is one, else the built-with option.
  float bandwidth() const;
  // Sets the learnt σ (training): a weight, so it belongs to the module. Without a learnable σ it
  // sets the built-with option.
  void set_bandwidth(float bandwidth);

 private:
  TokenClusterOptions options_;
  at::Tensor log_bandwidth_;  // registered only when learnable
};
TORCH_MODULE(TokenCluster);

}  // namespace setok::tokenizer
