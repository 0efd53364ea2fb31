#pragma once
// Writes a generated split as standard dataset files (docs/design/scenes.md):
//   DIR/images/SPLIT_NNNNNNN.png, DIR/edits/SPLIT_NNNNNNN_KIND.png and in DIR/annotations/
//   instances_SPLIT.json (COCO, compressed RLE), captions_SPLIT.json (COCO captions),
//   refs_SPLIT.json (RefCOCO-style), llava_SPLIT.json (LLaVA conversations),
//   edits_SPLIT.jsonl (InstructPix2Pix-style triplets), prompts_SPLIT.jsonl (generation prompts).
// Every file is written atomically; the output does not depend on the number of threads.
#include <cstdint>
#include <functional>
#include <string>

#include "core/data/scenes.h"

namespace setok::data {

struct ScenesWriteOptions {
  std::string out;
  std::int64_t count = 0;
  std::int64_t start = 0;  // first index: shards of one split can be written apart
  SceneOptions scene;
  int threads = 1;
  // Called from the calling thread now and then with (done, total); false cancels.
  std::function<bool(std::int64_t, std::int64_t)> progress;
};

struct ScenesWriteResult {
  std::int64_t images = 0, objects = 0, edits = 0, refs = 0, questions = 0;
  double seconds = 0;
};

ScenesWriteResult write_scenes(const ScenesWriteOptions& opt);

// File stems shared by the writer and the tests.
std::string scene_stem(Split split, std::int64_t index);  // "train_0000042"

}  // namespace setok::data
