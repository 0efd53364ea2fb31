#pragma once
// Named tensors, ordered by name: what a weights file holds.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace setok::io {

using TensorMap = std::map<std::string, at::Tensor>;

}  // namespace setok::io
