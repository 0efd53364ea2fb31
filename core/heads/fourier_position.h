#pragma once
// Random Fourier positional encoding (Tancik et al. 2020, as SAM encodes prompts and the image
// grid): a point c in [0, 1]² becomes [sin(2π(2c − 1)G), cos(2π(2c − 1)G)] with a fixed Gaussian G.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace setok::heads {

struct FourierPositionImpl : torch::nn::Module {
  // dim: output width (even); G is 2 × dim/2, N(0, scale²), a buffer saved with the weights.
  FourierPositionImpl(std::int64_t dim, double scale);
  // coords [..., 2] (x, y) in [0, 1] → [..., dim].
  at::Tensor forward(const at::Tensor& coords);
  // The encoding of every cell centre of a side × side grid: [side * side, dim], row-major.
  at::Tensor grid(std::int64_t side);
  at::Tensor gaussian;
};
TORCH_MODULE(FourierPosition);

}  // namespace setok::heads
