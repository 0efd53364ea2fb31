#pragma once
// bf16 autocast on CUDA for the training loops (f32 master weights stay untouched). LibTorch 2.4
// replaced the global switch with per-device ones; the default CUDA autocast dtype is f16, so name
// bf16 either way. On the CPU it is never switched on: LibTorch 1.13's CPU autocast breaks in
// layer_norm (docs/design/setok-training.md).
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace setok::train {

// The switch itself; training code uses CudaAutocastScope below.
inline void set_cuda_autocast(bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
#endif
}

inline bool cuda_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

// Autocast for one scope when `on`; switched off and its weight-cast cache cleared when the scope
// ends, also by an exception.
class CudaAutocastScope {
 public:
  explicit CudaAutocastScope(bool on) : on_(on) {
    if (on_) set_cuda_autocast(true);
  }
  ~CudaAutocastScope() {
    if (on_) {
      set_cuda_autocast(false);
      at::autocast::clear_cache();
    }
  }
  CudaAutocastScope(const CudaAutocastScope&) = delete;
  CudaAutocastScope& operator=(const CudaAutocastScope&) = delete;

 private:
  bool on_;
};

}  // namespace setok::train
