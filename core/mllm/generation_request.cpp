#include "core/mllm/generation_request.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/llm/text_tokenizer.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"

namespace setok::mllm {

std::string generation_request(const std::string& prompt) { return "Generate an image: " + prompt; }

std::string null_generation_request() { return generation_request(llm::kNull); }

at::Tensor generation_order(const at::Tensor& descriptors) {
  if (descriptors.dim() != 2 || descriptors.size(1) < tokenizer::kGeometryDims)
    throw Error("token order: descriptors of at least " + std::to_string(tokenizer::kGeometryDims) +
                " numbers are needed");
  const at::Tensor d = descriptors.detach().to(at::kCPU, at::kFloat).contiguous();
  const std::int64_t c = d.size(0);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(c));
  std::iota(idx.begin(), idx.end(), 0);
  if (c == 0) return at::zeros({0}, at::kLong);
  const auto a = d.accessor<float, 2>();
  auto area = [&](std::int64_t i) { return a[i][13]; };
  auto third = [&](std::int64_t i) {
    const float y = (a[i][tokenizer::kGeometryCentre + 1] + 1) / 2;  // [0, 1]
    return std::min(2, std::max(0, static_cast<int>(std::floor(y * 3))));
  };
  auto x = [&](std::int64_t i) { return a[i][tokenizer::kGeometryCentre]; };
  const auto largest = std::max_element(idx.begin(), idx.end(), [&](auto a, auto b) { return area(a) < area(b); });
  std::iter_swap(idx.begin(), largest);
  std::stable_sort(idx.begin() + 1, idx.end(), [&](std::int64_t a, std::int64_t b) {
    return third(a) != third(b) ? third(a) < third(b) : x(a) < x(b);
  });
  return at::tensor(idx, at::kLong);
}

}  // namespace setok::mllm
