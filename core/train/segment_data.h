#pragma once
// The mask decoder's training set, cached once: SeTokim's vision side and language model are frozen
// while the decoder learns (the paper's end of Stage I), so every image's patch features, visual
// tokens and the language model's states over each referring request are computed once, before the
// first step. Objects come from COCO instances; the requests from the RefCOCO refs that point at
// them (an object without a ref still trains clicks and boxes). Zoomed crops (zoom_crops) join
// them as images of their own.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/mllm/setokim.h"

namespace setok::llm {
class TextTokenizer;
}

namespace setok::train {

struct SegmentObject {
  at::Tensor mask;                   // [S, S] bool at the model's input size
  std::vector<at::Tensor> requests;  // [T, language_dim] f16, one per sentence of its refs
};

struct SegmentImage {
  at::Tensor features;    // [N, D] f32 patch features
  at::Tensor pixels;      // [3, S, S] uint8
  at::Tensor assignment;  // [N] long: visual token of each patch
  at::Tensor visual;      // [C, language_dim] f16: the language model's states at the visual tokens
  at::Tensor tokens;      // [C, language_dim] f16: the projected visual tokens (the language model's input)
  std::vector<SegmentObject> objects;
};

struct SegmentDataOptions {
  std::string data_dir;  // holds annotations/{instances,refs}_SPLIT.json and the images
  std::string split = "train";
  std::int64_t max_images = 0;  // 0: all
  bool language = true;         // run the language model over the requests
  int batch = 16;               // images per pass of the vision side
  // Each sentence asked in heads::referring_wordings()[sent_id % count]; false: "Segment {}." always.
  bool vary_wording = false;
  // Per image, this many more training images: square crops around one of its objects, as the
  // segmenter zooms in on a mask (heads/zoom_in.h), at an expansion drawn from 1.6..3.2 (the tools
  // use 2.4), with every object's part inside the crop. Clicks only: a crop has no sentences.
  int zoom_crops = 0;
  std::uint64_t seed = 0;  // which objects and expansions the crops take
};

// Throws setok::Error naming a missing or malformed file. progress(done, total) after each batch.
std::vector<SegmentImage> build_segment_data(mllm::SetokimImpl& model, const llm::TextTokenizer& tok,
                                             const SegmentDataOptions& o,
                                             const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace setok::train
