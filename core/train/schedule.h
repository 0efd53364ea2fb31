#pragma once
// Learning-rate schedule: linear warm-up, then cosine decay to min_ratio·base.
#include <cstdint>

namespace setok::train {

double warmup_cosine_lr(std::int64_t step, double base, std::int64_t warmup, std::int64_t total,
                        double min_ratio = 0.1);

}  // namespace setok::train
