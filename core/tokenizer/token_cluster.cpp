#include "core/tokenizer/token_cluster.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "core/nn/precision.h"
#include "core/runtime/error.h"
#include "core/tokenizer/density_peaks.h"
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
    at::Tensor used = at::one_hot(winners, width).sum(1) > 0;                             // [B,C]
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

// The side of a square grid of n patches; `setting` names what needs the grid in the error.
int64_t square_side(int64_t n, const char* setting) {
  const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  if (side * side != n)
    throw Error(std::string(setting) + " needs a square patch grid; got " + std::to_string(n) + " patches");
  return side;
}

// Patch p's 4-neighbours on a side × side grid (row-major): up, down, left, right; -1 off the grid.
std::array<int64_t, 4> neighbours4(int64_t p, int64_t side) {
  const int64_t row = p / side, col = p % side;
  return {row > 0 ? p - side : -1, row + 1 < side ? p + side : -1, col > 0 ? p - 1 : -1, col + 1 < side ? p + 1 : -1};
}

// Each patch's token under hard masks, on the CPU, contiguous: [B, N].
at::Tensor hard_assignment(const ClusterResult& r) {
  return r.masks.detach().masked_fill(~r.token_valid.unsqueeze(1), -1.0).argmax(2).cpu().contiguous();
}

// x [B, N, D] with each row scaled to unit length, in double on the CPU, contiguous.
at::Tensor unit_rows(const at::Tensor& x) {
  at::Tensor unit = x.detach().to(at::kDouble).cpu();
  return (unit / unit.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12)).contiguous();
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
    log_z = at::where(a, log_z + at::log1p(-alpha), log_z);                      // line 6
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
  at::Tensor soft = at::stack(masks, 2);  // [B,N,S+1]
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

ClusterResult split_islands(const ClusterResult& r, int min_patches, int max_tokens) {
  if (min_patches < 1) return r;
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  const int64_t side = square_side(n, "split_islands");
  at::NoGradGuard ng;
  const at::Tensor valid = r.token_valid.cpu();
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor density = r.density.detach().to(at::kFloat).cpu();
  std::vector<std::vector<int64_t>> new_assign(static_cast<std::size_t>(B));
  std::vector<std::vector<int64_t>> new_seeds(static_cast<std::size_t>(B));
  std::vector<std::vector<int64_t>> origin(static_cast<std::size_t>(B));  // new token -> old token
  int64_t widest = 1;
  for (int64_t b = 0; b < B; ++b) {
    const at::Tensor assign_b = assign[b].contiguous(), density_b = density[b].contiguous();
    const auto a = assign_b.accessor<int64_t, 1>();
    const auto rho = density_b.accessor<float, 1>();
    const int64_t count = r.num_tokens[b].item<int64_t>();
    std::vector<int64_t>& out = new_assign[static_cast<std::size_t>(b)];
    out.assign(assign_b.data_ptr<int64_t>(), assign_b.data_ptr<int64_t>() + n);
    std::vector<int64_t>& seeds = new_seeds[static_cast<std::size_t>(b)];
    std::vector<int64_t>& from = origin[static_cast<std::size_t>(b)];
    for (int64_t t = 0; t < count; ++t) seeds.push_back(r.seeds[b][t].item<int64_t>()), from.push_back(t);
    // Connected regions of each token (4-neighbours), by flood fill.
    std::vector<int64_t> region(static_cast<std::size_t>(n), -1);
    struct Island {
      int64_t token, size, densest;
      std::vector<int64_t> patches;
    };
    std::vector<Island> islands;
    for (int64_t p = 0; p < n; ++p) {
      if (region[static_cast<std::size_t>(p)] >= 0) continue;
      Island is{a[p], 0, p, {}};
      std::vector<int64_t> stack{p};
      region[static_cast<std::size_t>(p)] = static_cast<int64_t>(islands.size());
      while (!stack.empty()) {
        const int64_t q = stack.back();
        stack.pop_back();
        is.patches.push_back(q);
        if (rho[q] > rho[is.densest]) is.densest = q;
        for (int64_t m : neighbours4(q, side))
          if (m >= 0 && region[static_cast<std::size_t>(m)] < 0 && a[m] == is.token) {
            region[static_cast<std::size_t>(m)] = region[static_cast<std::size_t>(p)];
            stack.push_back(m);
          }
      }
      is.size = static_cast<int64_t>(is.patches.size());
      islands.push_back(std::move(is));
    }
    // Per token, its regions largest first; every region after the first that is big enough
    // becomes a token while there is room, biggest regions of the whole image first.
    std::vector<const Island*> extra;
    for (int64_t t = 0; t < count; ++t) {
      std::vector<const Island*> mine;
      for (const Island& is : islands)
        if (is.token == t) mine.push_back(&is);
      std::stable_sort(mine.begin(), mine.end(), [](const Island* x, const Island* y) { return x->size > y->size; });
      for (std::size_t k = 1; k < mine.size(); ++k)
        if (mine[k]->size >= min_patches) extra.push_back(mine[k]);
    }
    std::stable_sort(extra.begin(), extra.end(), [](const Island* x, const Island* y) { return x->size > y->size; });
    for (const Island* is : extra) {
      if (static_cast<int64_t>(seeds.size()) >= max_tokens) break;
      const int64_t id = static_cast<int64_t>(seeds.size());
      for (int64_t q : is->patches) out[static_cast<std::size_t>(q)] = id;
      seeds.push_back(is->densest);
      from.push_back(is->token);
    }
    widest = std::max<int64_t>(widest, static_cast<int64_t>(seeds.size()));
  }
  if (widest == r.masks.size(2) && [&] {
        for (int64_t b = 0; b < B; ++b)
          if (static_cast<int64_t>(new_seeds[static_cast<std::size_t>(b)].size()) != r.num_tokens[b].item<int64_t>())
            return false;
        return true;
      }())
    return r;  // nothing split
  ClusterResult s;
  const auto dev = r.masks.device();
  const auto lopt = at::TensorOptions().dtype(at::kLong);
  at::Tensor na = at::zeros({B, n}, lopt), seeds = at::full({B, widest}, -1, lopt), counts = at::zeros({B}, lopt);
  at::Tensor soft = at::zeros({B, n, widest}, r.soft_masks.options().device(at::kCPU));
  const at::Tensor old_soft = r.soft_masks.detach().cpu();
  for (int64_t b = 0; b < B; ++b) {
    const auto& out = new_assign[static_cast<std::size_t>(b)];
    const auto& sd = new_seeds[static_cast<std::size_t>(b)];
    const auto& from = origin[static_cast<std::size_t>(b)];
    na[b].copy_(at::tensor(out, lopt));
    counts[b] = static_cast<int64_t>(sd.size());
    seeds[b].narrow(0, 0, static_cast<int64_t>(sd.size())).copy_(at::tensor(sd, lopt));
    const int64_t old_count = r.num_tokens[b].item<int64_t>();
    soft[b].narrow(1, 0, old_count).copy_(old_soft[b].narrow(1, 0, old_count));
    for (std::size_t t = static_cast<std::size_t>(old_count); t < sd.size(); ++t) {
      // The island's patches carry the old token's soft weight over to the new token.
      const at::Tensor mine = (na[b] == static_cast<int64_t>(t));
      const int64_t o = from[t];
      at::Tensor col = old_soft[b].select(1, o) * mine.to(old_soft.scalar_type());
      soft[b].select(1, static_cast<int64_t>(t)).copy_(col);
      soft[b].select(1, o).sub_(col);
    }
  }
  s.num_tokens = counts.to(dev);
  s.token_valid = (at::arange(widest, lopt).unsqueeze(0) < counts.unsqueeze(1)).to(dev);
  s.seeds = seeds.to(dev);
  s.soft_masks = soft.to(dev);
  s.masks = at::one_hot(na, widest).to(r.masks.scalar_type()).to(dev);
  s.density = r.density;
  s.score = r.score;
  return s;
}

ClusterResult absorb_small_regions(const ClusterResult& r, const at::Tensor& x, int min_patches) {
  if (min_patches < 2) return r;  // every region has at least one patch
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  const int64_t side = square_side(n, "min_region_patches");
  if (x.dim() != 3 || x.size(0) != B || x.size(1) != n)
    throw Error("absorb_small_regions: features must be [B, N, D] matching the masks");
  at::NoGradGuard ng;
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor unit = unit_rows(x);
  const int64_t D = unit.size(2);
  const auto at_ = [](auto& v, int64_t i) -> auto& { return v[static_cast<std::size_t>(i)]; };
  std::vector<std::vector<int64_t>> final_assign(static_cast<std::size_t>(B));
  std::vector<std::vector<int64_t>> heir(static_cast<std::size_t>(B));  // token -> who took its last region (itself if alive)
  bool changed = false;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t count = r.num_tokens[b].item<int64_t>();
    const at::Tensor assign_b = assign[b].contiguous();
    std::vector<int64_t>& a = at_(final_assign, b);
    a.assign(assign_b.data_ptr<int64_t>(), assign_b.data_ptr<int64_t>() + n);
    const double* u = unit[b].data_ptr<double>();
    std::vector<int64_t> size(static_cast<std::size_t>(count), 0);
    std::vector<double> sum(static_cast<std::size_t>(count * D), 0.0);  // per token, its patches' unit features
    for (int64_t p = 0; p < n; ++p) {
      ++at_(size, a[static_cast<std::size_t>(p)]);
      for (int64_t d = 0; d < D; ++d) at_(sum, a[static_cast<std::size_t>(p)] * D + d) += u[p * D + d];
    }
    std::vector<int64_t>& to = at_(heir, b);
    to.resize(static_cast<std::size_t>(count));
    for (int64_t t = 0; t < count; ++t) at_(to, t) = t;
    std::vector<bool> stuck(static_cast<std::size_t>(n), false);  // by a region's first patch
    for (;;) {
      // The grid's 4-connected regions of one token each; the smallest below the threshold goes
      // first (ties: the one found last).
      std::vector<int64_t> region(static_cast<std::size_t>(n), -1), best_patches;
      int64_t living = 0;
      for (int64_t t = 0; t < count; ++t) living += at_(size, t) > 0;
      if (living < 2) break;
      for (int64_t p = 0; p < n; ++p) {
        if (at_(region, p) >= 0) continue;
        std::vector<int64_t> patches{p}, stack{p};
        at_(region, p) = p;
        while (!stack.empty()) {
          const int64_t q = stack.back();
          stack.pop_back();
          for (int64_t m : neighbours4(q, side))
            if (m >= 0 && at_(region, m) < 0 && at_(a, m) == at_(a, p)) at_(region, m) = p, stack.push_back(m), patches.push_back(m);
        }
        const auto sz = static_cast<int64_t>(patches.size());
        if (sz < min_patches && !stuck[static_cast<std::size_t>(p)] && (best_patches.empty() || sz <= static_cast<int64_t>(best_patches.size())))
          best_patches = std::move(patches);
      }
      if (best_patches.empty()) break;
      const int64_t own = at_(a, best_patches[0]);
      std::vector<double> rs(static_cast<std::size_t>(D), 0.0);
      std::vector<bool> touches(static_cast<std::size_t>(count), false);
      for (int64_t q : best_patches) {
        for (int64_t d = 0; d < D; ++d) at_(rs, d) += u[q * D + d];
        for (int64_t m : neighbours4(q, side))
          if (m >= 0 && at_(a, m) != own) touches[static_cast<std::size_t>(at_(a, m))] = true;
      }
      double rn = 0;
      for (double v : rs) rn += v * v;
      rn = std::sqrt(rn);
      int64_t best = -1;
      double best_cos = -2;
      for (int64_t t = 0; t < count; ++t) {
        if (!touches[static_cast<std::size_t>(t)]) continue;
        double dot = 0, tn = 0;
        for (int64_t d = 0; d < D; ++d) dot += at_(rs, d) * at_(sum, t * D + d), tn += at_(sum, t * D + d) * at_(sum, t * D + d);
        const double c = dot / std::max(1e-12, rn * std::sqrt(tn));
        if (c > best_cos) best_cos = c, best = t;
      }
      if (best < 0) {  // no neighbour: the region is the whole grid (cannot happen with two tokens)
        stuck[static_cast<std::size_t>(best_patches[0])] = true;
        continue;
      }
      for (int64_t q : best_patches) at_(a, q) = best;
      for (int64_t d = 0; d < D; ++d) at_(sum, best * D + d) += at_(rs, d), at_(sum, own * D + d) -= at_(rs, d);
      const auto moved = static_cast<int64_t>(best_patches.size());
      at_(size, best) += moved;
      at_(size, own) -= moved;
      if (at_(size, own) == 0) at_(to, own) = best;
      changed = true;
    }
  }
  if (!changed) return r;
  // Survivors keep their order; a token that lost its last region hands its soft mass (on other
  // patches) to whoever took that region, followed to a survivor.
  const auto dev = r.masks.device();
  const auto lopt = at::TensorOptions().dtype(at::kLong);
  const at::Tensor old_soft = r.soft_masks.detach().to(at::kFloat).cpu(), old_seeds = r.seeds.cpu();
  std::vector<std::vector<int64_t>> renum(static_cast<std::size_t>(B));
  int64_t widest = 1;
  for (int64_t b = 0; b < B; ++b) {
    auto& to = at_(heir, b);
    for (std::size_t t = 0; t < to.size(); ++t)
      while (at_(to, to[t]) != to[t]) to[t] = at_(to, to[t]);
    auto& re = at_(renum, b);
    re.assign(to.size(), -1);
    int64_t k = 0;
    for (std::size_t t = 0; t < to.size(); ++t)
      if (to[t] == static_cast<int64_t>(t)) re[t] = k++;
    widest = std::max(widest, k);
  }
  at::Tensor soft = at::zeros({B, n, widest}, old_soft.options());
  at::Tensor na = at::zeros({B, n}, lopt), seeds = at::full({B, widest}, -1, lopt), counts = at::zeros({B}, lopt);
  for (int64_t b = 0; b < B; ++b) {
    const auto& to = at_(heir, b);
    const auto& re = at_(renum, b);
    const auto& a = at_(final_assign, b);
    const at::Tensor a0b = assign[b].contiguous(), os = old_soft[b].contiguous();
    at::Tensor sb = soft[b];
    const auto a0 = a0b.accessor<int64_t, 1>();
    const auto o = os.accessor<float, 2>();
    auto sm = sb.accessor<float, 2>();
    for (int64_t p = 0; p < n; ++p)
      for (std::size_t t = 0; t < to.size(); ++t) {
        // A patch that moved takes its old token's share to its new token; other shares follow
        // their token (or its heir).
        const int64_t dst = (static_cast<int64_t>(t) == a0[p]) ? at_(re, at_(a, p)) : at_(re, to[t]);
        sm[p][dst] += o[p][static_cast<int64_t>(t)];
      }
    int64_t k = 0;
    for (std::size_t t = 0; t < to.size(); ++t)
      if (re[t] >= 0) seeds[b][re[t]] = old_seeds[b][static_cast<int64_t>(t)], ++k;
    counts[b] = k;
    std::vector<int64_t> mapped(static_cast<std::size_t>(n));
    for (int64_t p = 0; p < n; ++p) at_(mapped, p) = at_(re, at_(a, p));
    na[b].copy_(at::tensor(mapped, lopt));
  }
  ClusterResult s;
  s.num_tokens = counts.to(dev);
  s.token_valid = (at::arange(widest, lopt).unsqueeze(0) < counts.unsqueeze(1)).to(dev);
  s.seeds = seeds.to(dev);
  s.soft_masks = soft.to(r.soft_masks.scalar_type()).to(dev);
  s.masks = at::one_hot(na, widest).to(r.masks.scalar_type()).to(dev);
  s.density = r.density;
  s.score = r.score;
  return s;
}

ClusterResult refine_edges(const ClusterResult& r, const at::Tensor& x, int passes) {
  if (passes < 1) return r;
  const int64_t B = r.masks.size(0), n = r.masks.size(1), width = r.masks.size(2);
  const int64_t side = square_side(n, "edge_passes");
  if (x.dim() != 3 || x.size(0) != B || x.size(1) != n)
    throw Error("refine_edges: features must be [B, N, D] matching the masks");
  at::NoGradGuard ng;
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor unit = unit_rows(x);
  const int64_t D = unit.size(2);
  at::Tensor current = assign.clone();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t count = r.num_tokens[b].item<int64_t>();
    int64_t* a = current[b].data_ptr<int64_t>();
    const double* u = unit[b].data_ptr<double>();
    for (int pass = 0; pass < passes; ++pass) {
      std::vector<int64_t> size(static_cast<std::size_t>(count), 0);
      std::vector<double> sum(static_cast<std::size_t>(count * D), 0.0);
      for (int64_t p = 0; p < n; ++p) {
        ++size[static_cast<std::size_t>(a[p])];
        for (int64_t d = 0; d < D; ++d) sum[static_cast<std::size_t>(a[p] * D + d)] += u[p * D + d];
      }
      // Cosine between patch p and the mean of token t's patches, p itself left out of its own.
      const auto cosine = [&](int64_t p, int64_t t) {
        double dot = 0, nn = 0;
        for (int64_t d = 0; d < D; ++d) {
          const double m = sum[static_cast<std::size_t>(t * D + d)] - (a[p] == t ? u[p * D + d] : 0.0);
          dot += m * u[p * D + d], nn += m * m;
        }
        return nn > 0 ? dot / std::sqrt(nn) : -2.0;
      };
      // Decisions on the grouping before the pass; a token never loses its last patch.
      std::vector<int64_t> next(a, a + n), lost(static_cast<std::size_t>(count), 0);
      for (int64_t p = 0; p < n; ++p) {
        const int64_t own = a[p];
        if (size[static_cast<std::size_t>(own)] < 2) continue;
        const std::array<int64_t, 4> nb = neighbours4(p, side);
        int64_t best = own;
        double best_cos = cosine(p, own);
        for (int64_t m : nb) {
          if (m < 0 || a[m] == own || a[m] == best) continue;
          // Only a token holding two of the patch's 4-neighbours may take it: edges smooth out
          // rather than grow one-patch fingers along noisy features (photos).
          int held = 0;
          for (int64_t q : nb) held += (q >= 0 && a[q] == a[m]);
          if (held < 2) continue;
          const double c = cosine(p, a[m]);
          if (c > best_cos) best_cos = c, best = a[m];
        }
        if (best != own) next[static_cast<std::size_t>(p)] = best, ++lost[static_cast<std::size_t>(own)];
      }
      bool moved = false;
      for (int64_t p = 0; p < n; ++p) {
        const int64_t to = next[static_cast<std::size_t>(p)];
        if (to == a[p] || lost[static_cast<std::size_t>(a[p])] >= size[static_cast<std::size_t>(a[p])]) continue;
        a[p] = to;
        moved = true;
      }
      if (!moved) break;
    }
  }
  const at::Tensor moved = (current != assign).nonzero();  // [M, 2]: batch, patch
  if (moved.size(0) == 0) return r;
  at::Tensor soft = r.soft_masks.detach().to(at::kFloat).cpu().clone();
  const auto mv = moved.accessor<int64_t, 2>();
  const auto from = assign.accessor<int64_t, 2>(), to = current.accessor<int64_t, 2>();
  auto sm = soft.accessor<float, 3>();
  for (int64_t k = 0; k < moved.size(0); ++k) {
    const int64_t b = mv[k][0], p = mv[k][1];
    sm[b][p][to[b][p]] += sm[b][p][from[b][p]];
    sm[b][p][from[b][p]] = 0;
  }
  const auto dev = r.masks.device();
  ClusterResult s = r;
  s.soft_masks = soft.to(r.soft_masks.scalar_type()).to(dev);
  s.masks = at::one_hot(current, width).to(r.masks.scalar_type()).to(dev);
  return s;
}

ClusterResult tidy_tokens(const ClusterResult& r, const at::Tensor& x, const ClusterParams& p) {
  if (p.mode != ClusterMode::kHard) return r;
  ClusterResult out = r;
  if (p.split_islands > 0) out = split_islands(out, p.split_islands, p.max_tokens);
  if (p.min_region_patches > 1) out = absorb_small_regions(out, x, p.min_region_patches);
  if (p.edge_passes > 0) out = refine_edges(out, x, p.edge_passes);
  return out;
}

ClusterResult TokenClusterImpl::forward(const at::Tensor& x_in, const ClusterParams& params) {
  const at::Tensor x = with_grid_position(x_in, params.position_weight);
  const bool need_grad = at::GradMode::is_enabled() &&
                         (x.requires_grad() || (log_bandwidth_.defined() && log_bandwidth_.requires_grad()));
  if (need_grad) return cluster_reference(x, params, log_bandwidth_.defined() ? log_bandwidth_.exp() : at::Tensor());
  // An explicit bandwidth (a user's override, a calibrated value in config.json) wins; 0 means
  // the model's own: the learnt σ, else the paper's automatic 1/(C·ln 2).
  ClusterParams p = params;
  if (!(p.bandwidth > 0)) p.bandwidth = log_bandwidth_.defined() ? bandwidth() : params.effective_bandwidth();
  return tidy_tokens(cluster_fast(x, p), x, p);
}

}  // namespace setok::tokenizer
