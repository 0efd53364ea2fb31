#pragma once
// Segmentation through the engine (issue 42): a query on an image, answered by heads::Segmenter over
// the engine's shared SeTokim. The image is encoded once per key and kept for later queries, so a
// click or a hover preview runs only the light decoder. Torch-free (ui/ includes it).
#include <cstdint>
#include <string>

#include "core/engine/request_status.h"
#include "core/heads/segmenter.h"
#include "core/io/image.h"

namespace setok::engine {

struct SegmentRequest {
  io::Image image;              // may be empty when image_key was encoded before
  std::uint64_t image_key = 0;  // same key = same image: its encoding (Segmenter::encode) is reused
  heads::SegmentQuery query;
  bool encode_only = false;  // encode in the background as soon as an image opens; result has no masks
  std::uint64_t id = 0;
};

struct SegmentOutcome {
  std::uint64_t id = 0;
  Status status = Status::kOk;
  std::string error;  // one line, for kError
  std::uint64_t image_key = 0;
  heads::SegmentResult result;  // empty candidates for encode_only
  double load_model_ms = 0;     // 0 unless this request loaded the model or its mask decoder
  std::string model_name;
  bool ok() const { return status == Status::kOk; }
};

}  // namespace setok::engine
