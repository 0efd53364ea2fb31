#pragma once
// The SeTokim that `setok segment` runs: -m MODEL or the bundled one, checked for a mask decoder
// before anything heavy is loaded, so that a wrong folder fails at once.
#include <memory>
#include <string>

#include "core/heads/segmenter.h"

namespace setok::cli {

// The folder to load: `model`, or the bundled SeTokim when it is empty. Throws setok::Error when
// there is none, it is not a folder, or it has no mask decoder.
std::string segment_model_dir(const std::string& model);

struct LoadedSegmenter {
  std::shared_ptr<const heads::Segmenter> segmenter;
  double load_ms = 0;
};
LoadedSegmenter load_segmenter(const std::string& dir);

// Throws setok::Error when an expression is asked of a decoder trained on clicks and boxes only.
void check_reads_language(const LoadedSegmenter& s, const std::string& dir);

}  // namespace setok::cli
