#pragma once
// `setok segment --refs REFS.json --images DIR --out DIR`: one mask per sentence of a RefCOCO-format
// refs file, OUT/<sent_id>.png, with the model loaded once and each image encoded once.
#include <string>

namespace setok::cli {

struct SegmentRefsOptions {
  std::string refs, images, out, model;
  long long limit = 0;  // sentences, in the file's order; 0: all
  bool json = false;
};

// Everything that can be checked without the model is checked first (the refs file, every image it
// names, duplicate sentence ids, the output folder). Returns 0 when every sentence has its mask, 1
// when some failed (each named on stderr, and in the summary).
int run_segment_refs(const SegmentRefsOptions& o);

}  // namespace setok::cli
