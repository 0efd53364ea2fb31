#include "core/heads/diffusion_schedule.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/runtime/error.h"

namespace setok::heads {

DiffusionSchedule DiffusionSchedule::cosine(std::int64_t steps) {
  if (steps < 2) throw Error("a diffusion schedule needs at least 2 steps");
  constexpr double s = 0.008;
  const double pi = std::acos(-1.0);
  auto f = [&](double t) {
    const double c = std::cos((t / static_cast<double>(steps) + s) / (1 + s) * pi / 2);
    return c * c;
  };
  std::vector<double> ac;
  std::vector<std::int64_t> ts;
  double prev = 1.0;
  for (std::int64_t i = 0; i < steps; ++i) {
    const double beta = std::min(1 - f(i + 1) / f(i), 0.999);
    prev *= 1 - beta;
    ac.push_back(prev);
    ts.push_back(i);
  }
  return DiffusionSchedule(std::move(ac), std::move(ts));
}

DiffusionSchedule DiffusionSchedule::respaced(std::int64_t steps) const {
  const std::int64_t n = this->steps();
  if (steps < 1 || steps > n)
    throw Error("sampling steps must be between 1 and " + std::to_string(n) + " (got " + std::to_string(steps) + ")");
  std::vector<double> ac;
  std::vector<std::int64_t> ts;
  for (std::int64_t i = 0; i < steps; ++i) {
    const std::int64_t t = steps == 1 ? n - 1 : static_cast<std::int64_t>(std::llround(i * (n - 1.0) / (steps - 1)));
    if (!ts.empty() && t == ts.back()) continue;
    ts.push_back(timesteps_[t]);
    ac.push_back(alphas_cumprod_[t]);
  }
  return DiffusionSchedule(std::move(ac), std::move(ts));
}

DiffusionSchedule::DiffusionSchedule(std::vector<double> alphas_cumprod, std::vector<std::int64_t> timesteps)
    : alphas_cumprod_(std::move(alphas_cumprod)), timesteps_(std::move(timesteps)) {
  const std::size_t n = alphas_cumprod_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double prev = i == 0 ? 1.0 : alphas_cumprod_[i - 1];
    const double beta = 1 - alphas_cumprod_[i] / prev;
    alphas_cumprod_prev_.push_back(prev);
    betas_.push_back(beta);
    // β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t); its log with t = 0's (zero) replaced by t = 1's.
    posterior_log_variance_.push_back(std::log(std::max(beta * (1 - prev) / (1 - alphas_cumprod_[i]), 1e-20)));
    posterior_c0_.push_back(beta * std::sqrt(prev) / (1 - alphas_cumprod_[i]));
    posterior_ct_.push_back((1 - prev) * std::sqrt(1 - beta) / (1 - alphas_cumprod_[i]));
  }
  if (n > 1) posterior_log_variance_[0] = posterior_log_variance_[1];
}

at::Tensor DiffusionSchedule::gather(const std::vector<double>& v, const at::Tensor& t, const at::Tensor& like) const {
  at::Tensor table = at::tensor(v, at::TensorOptions().dtype(at::kDouble)).to(like.device());
  return table.index_select(0, t.to(like.device(), at::kLong)).to(like.scalar_type()).unsqueeze(1);
}

at::Tensor DiffusionSchedule::add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  at::Tensor ac = gather(alphas_cumprod_, t, x0);
  return ac.sqrt() * x0 + (1 - ac).sqrt() * noise;
}

DiffusionSchedule::Posterior DiffusionSchedule::posterior(const at::Tensor& head_out, const at::Tensor& x_t,
                                                          const at::Tensor& t, const at::Tensor& lo,
                                                          const at::Tensor& hi) const {
  const std::int64_t d = x_t.size(1);
  at::Tensor eps = head_out.narrow(1, 0, d), v = head_out.narrow(1, d, d);
  at::Tensor ac = gather(alphas_cumprod_, t, x_t);
  Posterior p;
  p.x0 = (x_t - (1 - ac).sqrt() * eps) / ac.sqrt();
  if (lo.defined() && hi.defined()) p.x0 = at::max(at::min(p.x0, hi.unsqueeze(0)), lo.unsqueeze(0));
  p.mean = gather(posterior_c0_, t, x_t) * p.x0 + gather(posterior_ct_, t, x_t) * x_t;
  // Learned range: log σ² = frac · log β_t + (1 - frac) · log β̃_t, frac = (v + 1) / 2.
  at::Tensor max_log = gather(betas_, t, x_t).clamp_min(1e-20).log(), min_log = gather(posterior_log_variance_, t, x_t);
  at::Tensor frac = (v + 1) / 2;
  p.log_variance = frac * max_log + (1 - frac) * min_log;
  return p;
}

at::Tensor DiffusionSchedule::loss(const at::Tensor& head_out, const at::Tensor& x0, const at::Tensor& x_t,
                                   const at::Tensor& noise, const at::Tensor& t) const {
  const std::int64_t d = x0.size(1);
  at::Tensor mse = (head_out.narrow(1, 0, d) - noise).pow(2).mean(1);
  // The bound teaches the variance only: the mean comes from a detached ε.
  at::Tensor frozen = at::cat({head_out.narrow(1, 0, d).detach(), head_out.narrow(1, d, d)}, 1);
  Posterior p = posterior(frozen, x_t, t);
  at::Tensor true_mean = gather(posterior_c0_, t, x0) * x0 + gather(posterior_ct_, t, x0) * x_t;
  at::Tensor true_log_var = gather(posterior_log_variance_, t, x0);
  // KL(q(x_{t-1} | x_t, x0) ‖ p(x_{t-1} | x_t)) between diagonal Gaussians, in nats.
  at::Tensor kl = 0.5 * (-1 + p.log_variance - true_log_var + (true_log_var - p.log_variance).exp() +
                         (true_mean - p.mean).pow(2) * (-p.log_variance).exp());
  // At t = 0 the bound would be the likelihood of x0 itself under a variance of ~1e-5, unbounded for
  // continuous tokens (images use 8-bit bins) and of no use to sampling, whose last step adds no
  // noise: that term is left out.
  at::Tensor later = (t > 0).to(x0.scalar_type()).unsqueeze(1);
  at::Tensor vb = (later * kl).mean(1) / std::log(2.0);
  return mse + vb;
}

}  // namespace setok::heads
