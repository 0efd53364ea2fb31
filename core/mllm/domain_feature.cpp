#include "core/mllm/domain_feature.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace setok::mllm {

std::vector<float> domain_feature(Setokim& model, const io::Image& image) {
  c10::InferenceMode guard;
  const at::Tensor pixels = model->setok->preprocess(image);
  const at::Tensor f = model->setok->encoder->patch_features(pixels).features[0].to(at::kFloat);  // [N, d]
  const at::Tensor v = at::cat({f.mean(0), f.std(0, /*unbiased=*/false)}).cpu().contiguous();
  return std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
}

}  // namespace setok::mllm
