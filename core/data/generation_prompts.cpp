#include "core/data/generation_prompts.h"

#include <filesystem>

#include "core/data/json_file.h"

namespace setok::data {

std::vector<GenerationPrompt> read_generation_prompts(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(path).parent_path().parent_path();
  const auto lines = read_jsonl_file(path);
  std::vector<GenerationPrompt> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string at = "line " + std::to_string(i + 1);
    GenerationPrompt p;
    p.relative = field<std::string>(lines[i], "image", path, at);
    p.image = (root / p.relative).string();
    p.prompt = field<std::string>(lines[i], "prompt", path, at);
    if (p.prompt.empty()) throw Error(path + ": " + at + ": the prompt is empty");
    out.push_back(std::move(p));
  }
  if (out.empty()) throw Error(path + ": no prompts");
  return out;
}

}  // namespace setok::data
