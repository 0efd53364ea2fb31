#pragma once
// Text-to-image prompts as `setok data scenes` writes them: prompts_SPLIT.jsonl, one
// {"image": "images/…png", "prompt": "…"} a line, the image path relative to the file's folder's
// parent (the dataset folder). The image is the prompt's exact picture: the target in training,
// the reference in evaluation.
#include <string>
#include <vector>

namespace setok::data {

struct GenerationPrompt {
  std::string image;     // full path
  std::string relative;  // as written in the file (its file name names the output of a batch run)
  std::string prompt;
};

// Throws setok::Error naming file, line and fault (an empty prompt is a fault).
std::vector<GenerationPrompt> read_generation_prompts(const std::string& path);

}  // namespace setok::data
