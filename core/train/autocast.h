#pragma once
// bf16 autocast for the training loops (f32 master weights stay untouched). On CUDA it is the
// `mixed_precision` switch. On the CPU it is `cpu_bf16`: worth it where the CPU multiplies bf16
// in hardware (AMX or AVX512-BF16; `setok doctor` says), emulated and slower elsewhere. LibTorch
// 1.13's CPU autocast hands bf16 activations to the affine norms with f32 weights, which the
// kernels refuse: the models give their norms f32 input (nn::autocast_f32), and the density-peak
// clustering runs in f32 under any autocast (nn::NoAutocast). docs/design/setok-training.md.
#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>
#include <torch/version.h>

#include "core/nn/precision.h"

namespace setok::train {

// The switch itself; training code uses AutocastScope below.
inline void set_autocast(at::DeviceType d, bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(d, at::kBFloat16);
#else
  if (d == at::kCPU) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  else at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
  nn::detail::set_autocast_on(d, on);
}

inline bool cuda_autocast_enabled() { return nn::detail::autocast_on(at::kCUDA); }
inline bool cpu_autocast_enabled() { return nn::detail::autocast_on(at::kCPU); }

// Autocast on `device`'s type for one scope when `on`; switched off and its weight-cast cache
// cleared when the scope ends, also by an exception.
class AutocastScope {
 public:
  AutocastScope(at::DeviceType device, bool on) : device_(device), on_(on) {
    if (on_) set_autocast(device_, true);
  }
  ~AutocastScope() {
    if (on_) {
      set_autocast(device_, false);
      at::autocast::clear_cache();
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  at::DeviceType device_;
  bool on_;
};

}  // namespace setok::train
