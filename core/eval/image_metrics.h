#pragma once
// Reconstruction quality of a batch of images against their originals: PSNR, SSIM and L1, one value
// per image (a caller averages over the data set). Choices: docs/design/metrics.md.
#include <ATen/core/Tensor.h>

namespace setok::eval {

// x, y: [B,C,H,W] (or [C,H,W] for one image), same shape, values in [0, data_range]. Results are
// float64 [B] on the inputs' device; computed in float64 so float16/bfloat16 reconstructions
// score the same as their float32 originals would.

// 10·log10(data_range² / MSE), MSE over C·H·W; +inf for identical images.
at::Tensor psnr(const at::Tensor& x, const at::Tensor& y, double data_range = 1.0);

// Mean absolute error over C·H·W.
at::Tensor l1_error(const at::Tensor& x, const at::Tensor& y);

// How much an image varies: each channel's (population) standard deviation over H·W, averaged
// over the channels, in the units of x. A flat picture scores 0 whatever its colour; it tells a
// decoder that paints only the background's brightness from one that draws the objects.
at::Tensor pixel_spread(const at::Tensor& x);

// SSIM (Wang et al. 2004): 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, computed per
// channel over the "valid" window positions and averaged over channels and positions. Needs H, W ≥ 11.
at::Tensor ssim(const at::Tensor& x, const at::Tensor& y, double data_range = 1.0);

}  // namespace setok::eval
