#pragma once
// The Gaussian diffusion the diffusion head is trained and sampled with (MAR after Improved DDPM;
// ../shared/paper/HEADS.md): a cosine noise schedule over `steps` training steps, ε-prediction with
// a learned variance (the head's second output interpolates, per number, between β_t and the
// posterior's β̃_t in log space), and sampling respaced to fewer steps. Tensors are [N, D] rows.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace setok::heads {

class DiffusionSchedule {
 public:
  // Nichol & Dhariwal's cosine schedule: ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2) / ᾱ(0), s = 0.008,
  // β clipped at 0.999.
  static DiffusionSchedule cosine(std::int64_t steps = 1000);
  // The same ᾱ at `steps` evenly spaced timesteps (the first and the last kept): sampling in fewer
  // steps (Improved DDPM's respacing). timestep(i) maps its step i back to the training timestep
  // the head was trained on.
  DiffusionSchedule respaced(std::int64_t steps) const;

  std::int64_t steps() const { return static_cast<std::int64_t>(alphas_cumprod_.size()); }
  std::int64_t timestep(std::int64_t i) const { return timesteps_[i]; }
  double alpha_cumprod(std::int64_t i) const { return alphas_cumprod_[i]; }

  // x_t = √ᾱ_t x0 + √(1-ᾱ_t) ε for each row's own step t ([N] long).
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const;

  // What the head's output [N, 2D] (ε, variance interpolation v in [-1, 1]) says of x_{t-1}. With
  // bounds lo, hi [D], the predicted x0 is clamped to them first (Improved DDPM clips images to
  // [-1, 1]; at the noisiest steps x0 = (x_t - √(1-ᾱ) ε) / √ᾱ multiplies any error in ε by 1/√ᾱ).
  struct Posterior {
    at::Tensor mean, log_variance, x0;
  };
  Posterior posterior(const at::Tensor& head_out, const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& lo = {},
                      const at::Tensor& hi = {}) const;

  // Improved DDPM's hybrid loss per row: ‖ε - ε̂‖² (mean over numbers) plus the variational bound
  // term in bits per number, its mean detached so that it teaches the variance only. At t = 0 the
  // bound's term (the likelihood of x0 itself) is left out: for continuous tokens it is unbounded.
  at::Tensor loss(const at::Tensor& head_out, const at::Tensor& x0, const at::Tensor& x_t, const at::Tensor& noise,
                  const at::Tensor& t) const;

 private:
  DiffusionSchedule(std::vector<double> alphas_cumprod, std::vector<std::int64_t> timesteps);
  at::Tensor gather(const std::vector<double>& v, const at::Tensor& t, const at::Tensor& like) const;

  std::vector<double> alphas_cumprod_, alphas_cumprod_prev_, betas_;
  std::vector<double> posterior_log_variance_, posterior_c0_, posterior_ct_;
  std::vector<std::int64_t> timesteps_;
};

}  // namespace setok::heads
