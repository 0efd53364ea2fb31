#pragma once
// How SeTokim is asked to draw, and in which order it writes an image's tokens.
//   USER:\nGenerate an image: {prompt}\n
//   ASSISTANT: [Img] t1 t2 … tC [/Img]</s>
// The answer's visual tokens are generated one at a time (core/mllm/image_writer.h). A request
// whose description is the null prompt [Null] is the unconditional case that classifier-free
// guidance pushes away from; training asks it `null_rate` of the time (MAR: 10 %).
#include <ATen/core/Tensor.h>

#include <string>

namespace setok::mllm {

std::string generation_request(const std::string& prompt);
// The request with the description replaced by the null prompt.
std::string null_generation_request();
// The answer's text: the image delimiters (the visual tokens go between them).
inline const char* generation_answer() { return "[Img][/Img]"; }

// The order an image's tokens are written in, from their region descriptors ([C, ≥ kGeometryDims],
// token_geometry): the largest region first (usually the background, which the prompt names
// last), then the others in reading order of their centroid — by thirds of the image top to bottom
// (the prompts' "at the top", "in the middle", "at the bottom"), left to right within a third.
// A set read from an image has the clustering's order, which follows seed scores, not the picture.
at::Tensor generation_order(const at::Tensor& descriptors);

}  // namespace setok::mllm
