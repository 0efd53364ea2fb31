#pragma once
// What a set of vectors tells linearly: the held-out R² of a ridge regression from features to
// targets. `setok eval setok` uses it to ask how well each token says where its cluster lies
// (docs/design/metrics.md): a detokenizer can only draw an object where its token places it.
#include <ATen/core/Tensor.h>

#include <vector>

namespace setok::eval {

// x_fit [N, D], y_fit [N, T] fit the regression; x_held [M, D], y_held [M, T] score it. Features
// are standardised with the fitting rows' mean and deviation (a constant feature is dropped by its
// zero weight), targets centred on the fitting rows' mean, then W = (XᵀX + ridge·N·I)⁻¹ XᵀY.
// Returns one R² per target, 1 − Σ(y − ŷ)² / Σ(y − ȳ)² over the held-out rows with ȳ their own mean:
// 1 for a target the features give exactly, about 0 or below for one they say nothing about, NaN
// where the held-out target does not vary. Computed in float64. Throws setok::Error on shapes
// that do not match or fewer than two rows on either side.
std::vector<double> linear_probe_r2(const at::Tensor& x_fit, const at::Tensor& y_fit, const at::Tensor& x_held,
                                    const at::Tensor& y_held, double ridge = 1e-3);

// Where each token's patches lie on the grid: for a hard assignment [N] over an h × w row-major
// grid, a [C, 4] float64 tensor of each token's centre (x, y) and spread (standard deviation in x
// and y) in units of the image side (patch centres at (i + 0.5) / w), for tokens 0 … C−1; a token
// with no patch gets NaN.
at::Tensor token_place(const at::Tensor& assignment, int64_t h, int64_t w, int64_t tokens);

}  // namespace setok::eval
