#pragma once
// The benchmarks' timer: milliseconds of f, the median of `repeats` runs after `warmup` untimed ones
// (with cuda, the device is synchronised around each run).
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace setok::cli {

inline double median_ms(const std::function<void()>& f, int warmup, int repeats, bool cuda = false) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    if (cuda) torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    if (cuda) torch::cuda::synchronize();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace setok::cli
