#include "core/eval/expression_kind.h"

#include "core/data/scene_language.h"

namespace setok::eval {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// "the red dress in the top right" = "the red dress" + " " + one of region_phrase's nine phrases.
bool is_with_region(const std::string& sentence, const std::string& base) {
  if (!starts_with(sentence, base + " ")) return false;
  const std::string rest = sentence.substr(base.size() + 1);
  for (float y : {0.5f, 1.5f, 2.5f})
    for (float x : {0.5f, 1.5f, 2.5f})
      if (rest == data::region_phrase(x, y, 3)) return true;
  return false;
}

// The writer's position_ref: "the red star on the left" (two twins) or "the leftmost red star".
bool is_position(const std::string& sentence) {
  if (!starts_with(sentence, "the ")) return false;
  for (const char* pair : {" on the left", " on the right", " at the top", " at the bottom"})
    if (ends_with(sentence, pair)) return true;
  for (const char* extreme : {"the leftmost ", "the rightmost ", "the topmost ", "the bottom-most "})
    if (starts_with(sentence, extreme)) return true;
  return false;
}

}  // namespace

std::vector<std::vector<std::string>> scenes_expression_kinds(const std::vector<std::string>& sentences) {
  const std::size_t n = sentences.size();
  std::vector<std::vector<std::string>> kinds(n);
  if (n == 1 && is_position(sentences[0])) kinds[0] = {kPositionExpression};
  if (n == 2 || n == 3) {
    if (!is_with_region(sentences[n - 1], sentences[n - 2])) return kinds;
    kinds[0].push_back(kShortestExpression);
    kinds[n - 2].push_back(kFullExpression);
    kinds[n - 1].push_back(kRegionExpression);
  }
  return kinds;
}

}  // namespace setok::eval
