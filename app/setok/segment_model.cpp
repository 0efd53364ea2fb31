#include "app/setok/segment_model.h"

#include <chrono>
#include <filesystem>

#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace fs = std::filesystem;

namespace setok::cli {

std::string segment_model_dir(const std::string& model) {
  const std::string dir = model.empty() ? tokenizer::default_setokim_model() : model;
  if (dir.empty()) throw Error("no SeTokim model given and none bundled (use -m MODEL)");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such model folder");
  if (!heads::Segmenter::has_decoder(dir))
    throw Error(dir +
                ": no mask decoder in this model folder (mask_decoder.json); train one with `setok train segment`");
  return dir;
}

LoadedSegmenter load_segmenter(const std::string& dir) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedSegmenter s;
  s.segmenter = heads::Segmenter::load(dir);
  s.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

void check_reads_language(const LoadedSegmenter& s, const std::string& dir) {
  if (!s.segmenter->reads_language())
    throw Error(dir + ": its mask decoder was trained on clicks and boxes only and cannot read an expression");
}

}  // namespace setok::cli
