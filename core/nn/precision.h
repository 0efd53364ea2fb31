#pragma once
// Precision helpers for code that runs under bf16 autocast (core/train/autocast.h).
//  - autocast_f32: LibTorch 1.13's CPU autocast hands bf16 activations to layer_norm and
//    group_norm with their f32 weights and the kernels refuse the mix; under autocast the norms
//    take f32 input instead (outside it, nothing changes).
//  - NoAutocast: a scope where autocast is off on every device, for numerics that must stay f32
//    whatever the caller runs under (density-peak clustering: bf16 distances make ties).
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace setok::nn {

namespace detail {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_on(at::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
inline void set_autocast_on(at::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
#else
inline bool autocast_on(at::DeviceType d) {
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
inline void set_autocast_on(at::DeviceType d, bool on) {
  if (d == at::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
}
#endif
}  // namespace detail

// Under autocast (CPU or CUDA), a bf16/f16 activation as f32 for an affine norm, whose weights are
// the f32 master weights; outside autocast `x` as it is (a model held in bf16 keeps bf16 norms).
inline at::Tensor autocast_f32(const at::Tensor& x) {
  if (x.scalar_type() != at::kBFloat16 && x.scalar_type() != at::kHalf) return x;
  if (!detail::autocast_on(at::kCPU) && !detail::autocast_on(at::kCUDA)) return x;
  return x.to(at::kFloat);
}

// Switches autocast off (CPU and CUDA) for the scope and restores what was on when it ends.
class NoAutocast {
 public:
  NoAutocast() : cpu_(detail::autocast_on(at::kCPU)), cuda_(detail::autocast_on(at::kCUDA)) {
    if (cpu_) detail::set_autocast_on(at::kCPU, false);
    if (cuda_) detail::set_autocast_on(at::kCUDA, false);
  }
  ~NoAutocast() {
    if (cpu_) detail::set_autocast_on(at::kCPU, true);
    if (cuda_) detail::set_autocast_on(at::kCUDA, true);
  }
  NoAutocast(const NoAutocast&) = delete;
  NoAutocast& operator=(const NoAutocast&) = delete;

 private:
  bool cpu_, cuda_;
};

}  // namespace setok::nn
