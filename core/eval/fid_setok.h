#pragma once
// FID-setok: the Fréchet distance between two sets of pictures in the feature space of the
// project's own encoder (the bundled SeTok's vision encoder, its patch features averaged over the
// picture), in place of Inception's. Its values are not comparable with Inception FID, nor across
// encoders, nor across set sizes: with fewer pictures than feature dimensions the covariances are
// rank-deficient and the figure is biased upwards (docs/design/metrics.md).
#include <ATen/core/Tensor.h>

#include "core/io/image.h"
#include "core/tokenizer/setok_model.h"

namespace setok::eval {

// One picture's feature: [d], float64.
at::Tensor setok_feature(tokenizer::SetokModelImpl& setok, const io::Image& picture);

// ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½) of Gaussians fitted on the rows of a [N, d] and
// b [M, d] (N, M ≥ 2). Throws setok::Error on other shapes.
double frechet_distance(const at::Tensor& a, const at::Tensor& b);

}  // namespace setok::eval
