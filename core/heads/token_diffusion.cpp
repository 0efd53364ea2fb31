#include "core/heads/token_diffusion.h"

#include <ATen/ATen.h>

#include "core/runtime/error.h"

namespace setok::heads {

at::Tensor diffusion_loss(DiffusionHeadImpl& head, const at::Tensor& tokens, const at::Tensor& condition,
                          std::int64_t repeats, const at::Generator& generator) {
  if (tokens.dim() != 2 || condition.dim() != 2 || tokens.size(0) != condition.size(0))
    throw Error("diffusion loss: one condition per token is needed");
  if (repeats < 1) throw Error("diffusion loss: repeats must be at least 1");
  const DiffusionSchedule& s = head.schedule();
  at::Tensor x0 = head.normalise(tokens.to(at::kFloat)).repeat({repeats, 1});
  at::Tensor c = condition.repeat({repeats, 1});
  at::Tensor t = at::randint(s.steps(), {x0.size(0)}, generator, at::TensorOptions().dtype(at::kLong)).to(x0.device());
  at::Tensor noise = at::randn(x0.sizes(), generator, at::TensorOptions().dtype(at::kFloat)).to(x0.device());
  at::Tensor x_t = s.add_noise(x0, noise, t);
  at::Tensor out = head.forward(x_t, t, c.to(x_t.dtype())).to(at::kFloat);
  return s.loss(out, x0, x_t, noise, t).mean();
}

at::Tensor sample_tokens(DiffusionHeadImpl& head, const at::Tensor& condition, const at::Tensor& null_condition,
                         const DiffusionSampling& o, const at::Generator& generator) {
  const bool guided = o.cfg != 1.0;
  if (guided && (!null_condition.defined() || !null_condition.sizes().equals(condition.sizes())))
    throw Error("guidance needs the null condition of every row");
  if (!(o.temperature >= 0)) throw Error("temperature must not be negative");
  at::NoGradGuard ng;
  const DiffusionSchedule s = head.schedule().respaced(o.steps > 0 ? o.steps : head.config().sample_steps);
  const std::int64_t n = condition.size(0), d = head.config().token_dim;
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  at::Tensor x = at::randn({n, d}, generator, opts).to(condition.device());
  const auto bounds = head.normalised_bounds();
  at::Tensor cond = guided ? at::cat({condition, null_condition}) : condition;
  for (std::int64_t i = s.steps() - 1; i >= 0; --i) {
    at::Tensor t = at::full({cond.size(0)}, s.timestep(i), opts.dtype(at::kLong)).to(x.device());
    at::Tensor out = head.forward(guided ? at::cat({x, x}) : x, t, cond.to(x.dtype())).to(at::kFloat);
    if (guided) {
      at::Tensor c = out.narrow(0, 0, n), u = out.narrow(0, n, n);
      at::Tensor eps = u.narrow(1, 0, d) + o.cfg * (c.narrow(1, 0, d) - u.narrow(1, 0, d));
      out = at::cat({eps, c.narrow(1, d, d)}, 1);
    }
    auto p = s.posterior(out, x, at::full({n}, i, opts.dtype(at::kLong)).to(x.device()), bounds.first, bounds.second);
    x = p.mean;
    if (i > 0) x = x + (0.5 * p.log_variance).exp() * at::randn({n, d}, generator, opts).to(x.device()) * o.temperature;
  }
  return head.denormalise(x);
}

}  // namespace setok::heads
