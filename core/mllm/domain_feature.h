#pragma once
// An image as DomainProfile compares it with a SeTokim's training images: the mean and the spread
// over patches of its SeTok vision encoder's patch features, the image prepared as the model
// prepares it.
#include <vector>

#include "core/io/image.h"
#include "core/mllm/setokim.h"

namespace setok::mllm {

std::vector<float> domain_feature(Setokim& model, const io::Image& image);

}  // namespace setok::mllm
