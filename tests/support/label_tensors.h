#pragma once
// Labelings for the metrics' tests (segmentation, retrieval): lists, and the same as tensors.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace setok::test {

using Labels = std::vector<int64_t>;
inline at::Tensor labels_tensor(const Labels& v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong); }

}  // namespace setok::test
