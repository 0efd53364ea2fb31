#pragma once
// 2D rotary position embedding, axial variant (Heo et al. 2024, "Rotary Position Embedding for Vision
// Transformer"): the PE of the token merger. Choices are in docs/design/merger-detokenizer.md.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace setok::nn {

// cos/sin of every rotary angle, [N, head_dim / 2] each. Rotary pair k < head_dim/4 turns with the
// patch's x (column), pair head_dim/4 + k with its y (row), both at frequency theta^(-k / (head_dim/4)).
struct Rope2dTable {
  at::Tensor cos;
  at::Tensor sin;
  bool defined() const { return cos.defined(); }
};

// theta = 100: the axial RoPE-ViT setting of Heo et al. (their ViT grids are ~14-32 patches a side,
// so the slowest pair still turns less than a radian across the image at 10000; 100 keeps it useful).
constexpr double kRope2dTheta = 100.0;

// Table for explicit positions: positions [N, 2] holds (x, y) per token (any float, e.g. shifted).
Rope2dTable rope2d_table(const at::Tensor& positions, int64_t head_dim, double theta = kRope2dTheta);

// Table for an h x w patch grid in row-major order (token index = row * w + col, x = col, y = row).
Rope2dTable rope2d_grid_table(int64_t h, int64_t w, int64_t head_dim, double theta = kRope2dTheta,
                              at::TensorOptions options = {});

// Rotates x [..., N, head_dim] (queries or keys, e.g. [B, heads, N, head_dim]) by the table's angles.
// A pure rotation of each (2k, 2k+1) pair: norms are kept and q·k depends on relative offsets only.
at::Tensor apply_rope2d(const at::Tensor& x, const Rope2dTable& table);

}  // namespace setok::nn
