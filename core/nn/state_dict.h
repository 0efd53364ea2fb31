#pragma once
// Moving weights between modules and tensor files, with the names a checkpoint uses.
#include <torch/nn/module.h>

#include <string>

#include "core/io/tensor_map.h"

namespace setok::nn {

// Parameters and buffers of `m`, named as registered ("layers.0.attn.q.weight"), under `prefix`.
io::TensorMap state_dict(const torch::nn::Module& m, const std::string& prefix = "");

// Copies tensors[prefix + name] into each parameter and buffer of `m` (converting dtype).
// strict: every model tensor must be present and no tensor under `prefix` may be left over.
// Throws setok::Error naming the first missing, unexpected or mis-shaped tensor.
void load_state_dict(torch::nn::Module& m, const io::TensorMap& tensors, const std::string& prefix = "",
                     bool strict = true);

// Moves the tensors named `prefix` + name out of `tensors` and returns them named `name` (e.g. a
// head's weights that ride in another module's file). Empty when there are none.
io::TensorMap take_prefixed(io::TensorMap& tensors, const std::string& prefix);

}  // namespace setok::nn
