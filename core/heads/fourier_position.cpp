#include "core/heads/fourier_position.h"

#include <ATen/ATen.h>

#include <cmath>

namespace setok::heads {

FourierPositionImpl::FourierPositionImpl(std::int64_t dim, double scale) {
  // A fixed generator, so a freshly built decoder is the same everywhere; training saves it anyway.
  at::Generator gen = at::detail::createCPUGenerator(20240601);
  gaussian = register_buffer("positional_encoding_gaussian_matrix",
                             at::normal(0.0, scale, {2, dim / 2}, gen, at::TensorOptions().dtype(at::kFloat)));
}

at::Tensor FourierPositionImpl::forward(const at::Tensor& coords) {
  at::Tensor c = (coords.to(gaussian.dtype()) * 2 - 1).matmul(gaussian) * (2 * M_PI);
  return at::cat({at::sin(c), at::cos(c)}, -1);
}

at::Tensor FourierPositionImpl::grid(std::int64_t side) {
  at::Tensor t = (at::arange(side, gaussian.options()) + 0.5) / static_cast<double>(side);
  at::Tensor y = t.view({side, 1}).expand({side, side}), x = t.view({1, side}).expand({side, side});
  return forward(at::stack({x, y}, -1).reshape({side * side, 2}));
}

}  // namespace setok::heads
