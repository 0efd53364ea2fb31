#include "core/nn/rope2d.h"

#include <ATen/ATen.h>

#include "core/runtime/error.h"

namespace setok::nn {

Rope2dTable rope2d_table(const at::Tensor& positions, int64_t head_dim, double theta) {
  if (head_dim <= 0 || head_dim % 4 != 0)
    throw Error("2D RoPE needs a head width divisible by 4, got " + std::to_string(head_dim));
  if (positions.dim() != 2 || positions.size(1) != 2) throw Error("2D RoPE positions must be [N, 2] (x, y)");
  const int64_t quarter = head_dim / 4;
  // Angles in double so that float and double models see the same table up to their own rounding.
  auto pos = positions.to(at::kDouble);
  auto k = at::arange(quarter, pos.options());
  auto freqs = at::pow(theta, -k / static_cast<double>(quarter));   // [head_dim/4]
  auto ang_x = pos.select(1, 0).unsqueeze(1) * freqs.unsqueeze(0);  // [N, head_dim/4]
  auto ang_y = pos.select(1, 1).unsqueeze(1) * freqs.unsqueeze(0);
  // Both axes: the authors' release kept only the x half of its 2D table, a bug we do not repeat.
  auto ang = at::cat({ang_x, ang_y}, 1);  // [N, head_dim/2]
  auto dtype = positions.is_floating_point() ? positions.scalar_type() : at::kFloat;
  return {at::cos(ang).to(dtype), at::sin(ang).to(dtype)};
}

Rope2dTable rope2d_grid_table(int64_t h, int64_t w, int64_t head_dim, double theta, at::TensorOptions options) {
  if (h <= 0 || w <= 0) throw Error("2D RoPE grid must be non-empty");
  auto opts = options.dtype(at::kDouble);
  auto xs = at::arange(w, opts).repeat({h});           // col of token row * w + col
  auto ys = at::arange(h, opts).repeat_interleave(w);  // its row
  auto pos = at::stack({xs, ys}, 1);
  auto table = rope2d_table(pos, head_dim, theta);
  auto dtype = options.has_dtype() ? options.dtype().toScalarType() : at::kFloat;
  return {table.cos.to(dtype), table.sin.to(dtype)};
}

at::Tensor apply_rope2d(const at::Tensor& x, const Rope2dTable& table) {
  const int64_t hd = x.size(-1);
  const int64_t n = x.size(-2);
  if (table.cos.size(0) != n || table.cos.size(1) * 2 != hd)
    throw Error("2D RoPE table is for " + std::to_string(table.cos.size(0)) + " tokens of width " +
                std::to_string(table.cos.size(1) * 2) + ", input has " + std::to_string(n) + " of width " +
                std::to_string(hd));
  auto shape = x.sizes().vec();
  shape.back() = hd / 2;
  shape.push_back(2);
  auto pairs = x.reshape(shape);
  auto x0 = pairs.select(-1, 0);
  auto x1 = pairs.select(-1, 1);
  auto c = table.cos.to(x.scalar_type());
  auto s = table.sin.to(x.scalar_type());
  auto out = at::stack({x0 * c - x1 * s, x0 * s + x1 * c}, -1);
  return out.reshape(x.sizes());
}

}  // namespace setok::nn
