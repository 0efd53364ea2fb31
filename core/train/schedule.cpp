#include "core/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace setok::train {

double warmup_cosine_lr(std::int64_t step, double base, std::int64_t warmup, std::int64_t total, double min_ratio) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = std::max<std::int64_t>(1, total - warmup);
  const double t = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + std::cos(M_PI * t)));
}

}  // namespace setok::train
