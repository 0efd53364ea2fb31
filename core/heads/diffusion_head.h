#pragma once
// The diffusion head (§2.2, D.1; MAR's SimpleMLPAdaLN, ../shared/paper/HEADS.md): a residual MLP
// that predicts the noise in a noised visual token, conditioned on the language model's state at
// the position that writes the token and on the diffusion timestep. Each block is adaLN
// (LN → scale and shift from the condition → Linear → SiLU → Linear, gated residual); the adaLN
// layers and the output layer start at zero, so a new head predicts ε = 0 and the posterior's own
// variance. Tokens are read and written normalised (`token_mean`, `token_std`, set from training
// data): the vector's numbers and the descriptor's differ in scale by orders of magnitude.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include "core/heads/diffusion_schedule.h"

namespace setok::heads {

struct DiffusionHeadConfig {
  std::int64_t token_dim = 218;      // numbers per visual token (tokenizer::TokenSet::width())
  std::int64_t condition_dim = 256;  // the language model's width
  std::int64_t width = 384;          // MAR: 1024 for 16-number tokens
  std::int64_t depth = 3;            // residual blocks (the paper: three)
  std::int64_t frequencies = 256;    // sinusoidal timestep embedding
  std::int64_t train_steps = 1000;   // the cosine schedule's length
  std::int64_t sample_steps = 50;    // default respacing at sampling
  bool trained = false;

  nlohmann::json to_json() const;
  // Throws setok::Error naming a missing or out-of-range key.
  static DiffusionHeadConfig from_json(const nlohmann::json& j);
};

struct DiffusionBlockImpl : torch::nn::Module {
  explicit DiffusionBlockImpl(std::int64_t width);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& y);
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, modulation{nullptr};
};
TORCH_MODULE(DiffusionBlock);

class DiffusionHeadImpl : public torch::nn::Module {
 public:
  explicit DiffusionHeadImpl(const DiffusionHeadConfig& config);
  // x_t [N, token_dim] (normalised), t [N] long (training timesteps), condition [N, condition_dim]
  // -> [N, 2 · token_dim]: ε and the variance interpolation v (the schedule reads v in [-1, 1]).
  at::Tensor forward(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& condition);
  at::Tensor normalise(const at::Tensor& tokens) const;  // (tokens - mean) / std
  at::Tensor denormalise(const at::Tensor& x) const;     // x · std + mean
  // Sets token_mean, token_std, token_min and token_max from rows of real tokens [N, token_dim]
  // (std floored at 1e-3).
  void fit_normalisation(const at::Tensor& tokens);
  // The range sampling clamps its x0 predictions to, normalised: the training tokens' range with a
  // tenth of it added on each side.
  std::pair<at::Tensor, at::Tensor> normalised_bounds() const;
  const DiffusionHeadConfig& config() const { return config_; }
  const DiffusionSchedule& schedule() const { return schedule_; }  // cosine over train_steps
  void set_trained(bool trained) { config_.trained = trained; }

  torch::nn::Linear input{nullptr}, time1{nullptr}, time2{nullptr}, condition{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear final_modulation{nullptr}, output{nullptr};
  at::Tensor token_mean, token_std, token_min, token_max;  // buffers [token_dim]

 private:
  DiffusionHeadConfig config_;
  DiffusionSchedule schedule_;
};
TORCH_MODULE(DiffusionHead);

// diffusion_head.json + diffusion_head.safetensors beside a SeTokim's files: the head that lets it
// write visual tokens (generation, editing).
inline constexpr const char* kDiffusionHeadConfigFile = "diffusion_head.json";
inline constexpr const char* kDiffusionHeadWeightsFile = "diffusion_head.safetensors";
bool has_diffusion_head(const std::string& dir);
// Throws setok::Error naming a missing or malformed file.
DiffusionHead load_diffusion_head(const std::string& dir);
// Writes both files atomically (f32 weights).
void save_diffusion_head(const std::string& dir, DiffusionHeadImpl& head);

// The sinusoidal embedding of timesteps t [N] with `frequencies` numbers (half cos, half sin;
// max period 10 000), as DiT and MAR embed them.
at::Tensor timestep_embedding(const at::Tensor& t, std::int64_t frequencies);

}  // namespace setok::heads
