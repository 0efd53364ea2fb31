#include "core/dist/gradient_sync.h"

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <chrono>

#include "core/dist/world_group.h"
#include "core/runtime/error.h"

namespace setok::dist {

GradientSync::GradientSync(ProcessGroup& group, std::vector<at::Tensor> params, std::int64_t bucket_bytes,
                           std::int64_t first_bucket_bytes)
    : group_(group), params_(std::move(params)), bucket_of_(params_.size(), 0), member_of_(params_.size(), 0) {
  std::int64_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {  // last parameters first
    const at::Tensor& p = params_[k];
    if (!p.requires_grad()) throw Error("gradient sync: a parameter that does not learn was given");
    const std::int64_t cap = buckets_.size() <= 1 ? first_bucket_bytes : bucket_bytes;
    const bool fresh = buckets_.empty() || bytes + static_cast<std::int64_t>(p.nbytes()) > cap ||
                       buckets_.back().flat.scalar_type() != p.scalar_type() ||
                       buckets_.back().flat.device() != p.device();
    if (fresh) {
      buckets_.emplace_back();
      buckets_.back().flat = at::empty({0}, p.options().requires_grad(false));  // its type and device, for now
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    member_of_[k] = b.members.size();
    b.offset.push_back(b.numel);
    b.members.push_back(k);
    b.numel += p.numel();
    bytes += static_cast<std::int64_t>(p.nbytes());
  }
  for (Bucket& b : buckets_)  // the gradients, then the flags
    b.flat = at::zeros({b.numel + static_cast<std::int64_t>(b.members.size())}, b.flat.options());
  for (std::size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook([this, k](const at::Tensor& g) { on_gradient(k, g); }));
}

GradientSync::~GradientSync() {
  for (std::size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientSync::begin() {
  for (Bucket& b : buckets_) {
    b.flat.zero_();
    b.ready = 0;
    b.pending.reset();
  }
  next_ = 0;
  armed_ = true;
}

void GradientSync::on_gradient(std::size_t k, const at::Tensor& grad) {
  if (!armed_) return;
  Bucket& b = buckets_[bucket_of_[k]];
  const std::size_t m = member_of_[k];
  b.flat.narrow(0, b.offset[m], params_[k].numel()).copy_(grad.detach().reshape({-1}));
  b.flat[b.numel + static_cast<std::int64_t>(m)].fill_(1);
  if (++b.ready == b.members.size()) launch_ready();
}

// Starts the full buckets from the first not started, in order, up to the first that is not full.
void GradientSync::launch_ready() {
  while (next_ < buckets_.size() && buckets_[next_].ready == buckets_[next_].members.size()) {
    Bucket& b = buckets_[next_++];
    b.pending = group_.all_reduce_sum_async(b.flat);
  }
}

void GradientSync::finish() {
  if (!armed_) throw Error("gradient sync: finish() without begin()");
  armed_ = false;
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) b.ready = b.members.size();  // a parameter without a gradient here counts as 0
  launch_ready();
  const double ranks = static_cast<double>(group_.size());
  for (Bucket& b : buckets_) {
    group_.wait(*b.pending);
    const at::Tensor had =
        b.flat.narrow(0, b.numel, static_cast<std::int64_t>(b.members.size())).to(at::kCPU, at::kFloat);
    for (std::size_t m = 0; m < b.members.size(); ++m) {
      at::Tensor& p = params_[b.members[m]];
      if (had.data_ptr<float>()[m] == 0) continue;  // no rank had one
      const at::Tensor mean = b.flat.narrow(0, b.offset[m], p.numel()).view(p.sizes()) / ranks;
      if (p.grad().defined()) p.mutable_grad().copy_(mean);
      else p.mutable_grad() = mean.clone();
    }
  }
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<GradientSync> data_parallel(torch::optim::Optimizer& optimiser) {
  ProcessGroup* world = dist::world();
  if (!world) return nullptr;
  std::vector<at::Tensor> params;
  for (auto& g : optimiser.param_groups())
    for (auto& p : g.params()) params.push_back(p);
  at::NoGradGuard ng;
  world->broadcast(params);
  return std::make_unique<GradientSync>(*world, params);
}

}  // namespace setok::dist
