#include "core/tokenizer/token_cluster.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/nn/precision.h"
#include "core/runtime/error.h"
#include "core/tokenizer/density_peaks.h"
#include "core/tokenizer/patch_grid.h"
#include "core/tokenizer/token_cleanup.h"
#include "kernels/cluster.h"

#if defined(SETOK_HAVE_CUDA) && defined(SETOK_TORCH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

namespace setok::tokenizer {
namespace {

void check_input(const at::Tensor& x, const ClusterParams& p) {
  p.validate();
  if (!x.defined() || x.dim() != 3) throw Error("cluster input must be [batch, patches, dim] features");
  if (x.size(1) < 1 || x.size(2) < 1) throw Error("cluster input has no patches or no feature dimensions");
  if (!x.is_floating_point()) throw Error("cluster input must be floating point");
}

// Trims to the batch's largest count and builds the result. In hard mode a token whose one-hot
// mask is empty (it can happen to the final scope, whose patches an earlier mask may outweigh
// everywhere) is dropped and the rest are moved up: a token with no patch has nothing to merge,
// and its pooling weight would be 1/0.
ClusterResult finish(at::Tensor soft, at::Tensor num_tokens, at::Tensor seeds, at::Tensor density, at::Tensor score,
                     ClusterMode mode) {
  const int64_t width = soft.size(2);
  at::Tensor valid = at::arange(width, num_tokens.options()).unsqueeze(0) < num_tokens.unsqueeze(1);
  if (mode == ClusterMode::kHard) {
    at::Tensor winners = soft.detach().masked_fill(~valid.unsqueeze(1), -1.0).argmax(-1);  // [B,N]
    at::Tensor used = at::one_hot(winners, width).sum(1) > 0;                              // [B,C]
    at::Tensor keep = valid & used;
    // Stable order: kept tokens first, in their seed order.
    at::Tensor rank = (~keep).to(at::kLong) * width + at::arange(width, num_tokens.options()).unsqueeze(0);
    at::Tensor order = std::get<1>(rank.sort(1));
    soft = at::gather(soft, 2, order.unsqueeze(1).expand_as(soft));
    seeds = at::gather(seeds, 1, order);
    num_tokens = keep.sum(1);
    valid = at::arange(width, num_tokens.options()).unsqueeze(0) < num_tokens.unsqueeze(1);
    soft = soft * valid.unsqueeze(1).to(soft.scalar_type());
  }
  const int64_t cmax = std::max<int64_t>(1, num_tokens.max().item<int64_t>());
  ClusterResult r;
  r.soft_masks = soft.narrow(2, 0, cmax);
  r.num_tokens = num_tokens;
  r.seeds = seeds.narrow(1, 0, cmax);
  r.token_valid = valid.narrow(1, 0, cmax);
  r.density = density;
  r.score = score;
  r.masks = harden(r.soft_masks, r.token_valid, mode);
  return r;
}

}  // namespace

at::Tensor harden(const at::Tensor& soft, const at::Tensor& valid, ClusterMode mode) {
  if (mode == ClusterMode::kSoft) return soft;
  at::Tensor scores = soft.detach().masked_fill(~valid.unsqueeze(1), -1.0);
  at::Tensor hard = at::one_hot(scores.argmax(-1), soft.size(2)).to(soft.scalar_type());
  return hard + (soft - soft.detach());  // straight-through: exactly one-hot forward, soft gradient
}

ClusterResult cluster_reference(const at::Tensor& x_in, const ClusterParams& p, const at::Tensor& bandwidth) {
  check_input(x_in, p);
  // f32 whatever the caller runs under: bf16 distances and densities tie where f32 ones do not.
  nn::NoAutocast f32_only;
  const bool reduced = x_in.scalar_type() == at::kBFloat16 || x_in.scalar_type() == at::kHalf;
  const at::Tensor x = reduced ? x_in.to(at::kFloat) : x_in;  // f64 stays f64 (gradient checks)
  const int64_t B = x.size(0), n = x.size(1), T = p.max_tokens;
  DensityPeaks dp = density_peaks(x, p.knn);
  at::Tensor bw = bandwidth.defined() ? bandwidth : at::scalar_tensor(p.effective_bandwidth(), x.options());
  const double min_remaining = std::max(1.0, static_cast<double>(p.stop_fraction) * static_cast<double>(n));
  auto opts_long = x.options().dtype(at::kLong);
  at::Tensor batch_idx = at::arange(B, opts_long);
  at::Tensor log_z = at::zeros({B, n}, x.options());
  at::Tensor unclaimed = at::ones({B, n}, x.options().dtype(at::kBool));
  at::Tensor active = at::ones({B}, x.options().dtype(at::kBool));
  at::Tensor count = at::zeros({B}, opts_long);
  std::vector<at::Tensor> masks, seeds;
  for (int64_t c = 0; c < T - 1; ++c) {
    at::Tensor remaining = unclaimed.sum(1).to(x.scalar_type());
    active = active & (remaining >= min_remaining);
    if (!active.any().item<bool>()) break;
    // Algorithm 1, line 3: the seed is the unclaimed patch with the highest score.
    at::Tensor seed = (log_z.detach().exp() * (dp.score.detach() + 1e-6)).argmax(1);
    at::Tensor d2_seed = dp.d2.index({batch_idx, seed});  // [B,N]
    at::Tensor is_seed = at::one_hot(seed, n).to(at::kBool);
    // Line 4 in log space: kernel on the distance, minus the β·s penalty, the seed always 1.
    at::Tensor log_alpha = (-d2_seed / bw - p.beta * dp.score).masked_fill(is_seed, 0.0);
    at::Tensor alpha = log_alpha.exp();
    alpha = alpha + (alpha.clamp(0.01, 0.99) - alpha).detach();  // GENESIS-v2: clamp, keep the gradient
    at::Tensor a = active.unsqueeze(1);
    masks.push_back(at::where(a, log_z.exp() * alpha, at::zeros_like(alpha)));  // line 5
    log_z = at::where(a, log_z + at::log1p(-alpha), log_z);                     // line 6
    unclaimed = unclaimed & ~(a & (alpha.detach() > 0.5));
    seeds.push_back(at::where(active, seed, at::full_like(seed, -1)));
    count = count + active.to(at::kLong);
  }
  // Line 8: the final scope is a token when the loop hit the cap with patches left; otherwise the
  // few remaining patches join the masks that reached them most.
  at::Tensor remaining = unclaimed.sum(1).to(x.scalar_type());
  at::Tensor keep_final = remaining >= min_remaining;
  masks.push_back(at::zeros_like(log_z));
  seeds.push_back(at::full({B}, -1, opts_long));
  at::Tensor soft = at::stack(masks, 2);                                                     // [B,N,S+1]
  at::Tensor final_col = at::one_hot(count, soft.size(2)).to(x.scalar_type()).unsqueeze(1);  // [B,1,S+1]
  at::Tensor z = (log_z.exp() * keep_final.unsqueeze(1).to(x.scalar_type())).unsqueeze(2);
  soft = soft + final_col * z;
  soft = soft / soft.sum(2, /*keepdim=*/true);
  count = count + keep_final.to(at::kLong);
  return finish(soft, count, at::stack(seeds, 1), dp.density, dp.score, p.mode);
}

ClusterResult cluster_fast(const at::Tensor& x_in, const ClusterParams& p) {
  check_input(x_in, p);
  at::NoGradGuard no_grad;
  nn::NoAutocast f32_only;
  at::Tensor x = x_in.to(at::kFloat);
  at::Tensor xn = normalize_features(x).contiguous();
  at::Tensor gram;
  if (!x.is_cuda()) {
    gram = at::empty({x.size(0), x.size(1), x.size(1)}, x.options());
    if (!kernels::gram_cpu(xn.data_ptr<float>(), static_cast<int>(x.size(0)), static_cast<int>(x.size(1)),
                           static_cast<int>(x.size(2)), gram.data_ptr<float>()))
      gram = at::Tensor();
  }
  if (!gram.defined()) gram = at::bmm(xn, xn.transpose(1, 2)).contiguous();
  kernels::ClusterArgs a;
  a.batch = static_cast<int>(x.size(0));
  a.n = static_cast<int>(x.size(1));
  a.knn = p.knn;
  a.max_tokens = p.max_tokens;
  a.beta = p.beta;
  a.bandwidth = p.effective_bandwidth();
  a.stop_fraction = p.stop_fraction;
  auto f = x.options();
  at::Tensor masks = at::empty({a.batch, a.n, a.max_tokens}, f);
  at::Tensor num_tokens = at::empty({a.batch}, f.dtype(at::kLong));
  at::Tensor seeds = at::empty({a.batch, a.max_tokens}, f.dtype(at::kLong));
  at::Tensor density = at::empty({a.batch, a.n}, f), score = at::empty({a.batch, a.n}, f);
  if (x.is_cuda()) {
#if defined(SETOK_HAVE_CUDA) && defined(SETOK_TORCH_CUDA)
    kernels::cluster_cuda(gram.data_ptr<float>(), a, masks.data_ptr<float>(), num_tokens.data_ptr<int64_t>(),
                          seeds.data_ptr<int64_t>(), density.data_ptr<float>(), score.data_ptr<float>(),
                          c10::cuda::getCurrentCUDAStream().stream());
#else
    throw Error("CUDA tensors need a build with CUDA kernels and a CUDA LibTorch");
#endif
  } else {
    kernels::cluster_cpu(gram.data_ptr<float>(), a, masks.data_ptr<float>(), num_tokens.data_ptr<int64_t>(),
                         seeds.data_ptr<int64_t>(), density.data_ptr<float>(), score.data_ptr<float>());
  }
  ClusterResult r = finish(masks, num_tokens, seeds, density, score, p.mode);
  if (x_in.scalar_type() != at::kFloat) {
    r.masks = r.masks.to(x_in.scalar_type());
    r.soft_masks = r.soft_masks.to(x_in.scalar_type());
  }
  return r;
}

TokenClusterImpl::TokenClusterImpl(TokenClusterOptions options) : options_(std::move(options)) {
  options_.params.validate();
  if (options_.learnable_bandwidth)
    log_bandwidth_ =
        register_parameter("log_bandwidth", at::scalar_tensor(std::log(options_.params.effective_bandwidth())));
}

float TokenClusterImpl::bandwidth() const {
  return log_bandwidth_.defined() ? std::exp(log_bandwidth_.item<float>()) : options_.params.effective_bandwidth();
}

void TokenClusterImpl::set_bandwidth(float bw) {
  if (!(bw > 0) || !std::isfinite(bw)) throw Error("bandwidth must be a positive number");
  if (log_bandwidth_.defined()) {
    at::NoGradGuard ng;
    log_bandwidth_.fill_(std::log(bw));
  }
  options_.params.bandwidth = bw;
}

at::Tensor with_grid_position(const at::Tensor& x, double weight) {
  if (!(weight > 0)) return x;
  const int64_t n = x.size(1), side = square_side(n, "position_weight");
  const auto opt = x.options().dtype(x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
  at::Tensor c = (at::arange(side, opt) + 0.5) / static_cast<double>(side) * 2.0 - 1.0;
  at::Tensor xy = at::stack({c.repeat({side}), c.repeat_interleave(side)}, 1) * weight;  // [N, 2], row-major
  at::Tensor unit = x.to(opt) / x.to(opt).norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
  return at::cat({unit, xy.unsqueeze(0).expand({x.size(0), n, 2})}, 2);
}

ClusterResult TokenClusterImpl::forward(const at::Tensor& x_in, const ClusterParams& params) {
  const at::Tensor x = with_grid_position(x_in, params.position_weight);
  const bool need_grad =
      at::GradMode::is_enabled() && (x.requires_grad() || (log_bandwidth_.defined() && log_bandwidth_.requires_grad()));
  if (need_grad) return cluster_reference(x, params, log_bandwidth_.defined() ? log_bandwidth_.exp() : at::Tensor());
  // An explicit bandwidth (a user's override, a calibrated value in config.json) wins; 0 means
  // the model's own: the learnt σ, else the paper's automatic 1/(C·ln 2).
  ClusterParams p = params;
  if (!(p.bandwidth > 0)) p.bandwidth = log_bandwidth_.defined() ? bandwidth() : params.effective_bandwidth();
  return tidy_tokens(cluster_fast(x, p), x, p);
}

}  // namespace setok::tokenizer
