#pragma once
// Visual question answering scored by exact match after answer normalisation, overall and per
// question type. Choices (why not the VQA v2 "3 of 10 annotators" soft score): docs/design/metrics.md.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace setok::eval {

// Lowercase; punctuation removed (a period between digits kept as a decimal point, a comma between
// digits dropped: "1,000" → "1000"); number words zero…twenty and "none" → digits; articles
// a/an/the dropped; whitespace collapsed. "Two dogs." → "2 dogs", "The RED cube" → "red cube".
std::string normalize_answer(std::string_view answer);

struct VqaSample {
  std::string question_type;         // e.g. "count", "colour", "shape", "exists", "position"
  std::string prediction;            // the model's answer
  std::vector<std::string> answers;  // accepted answers (usually one); a match with any is correct
};

struct Tally {
  int64_t correct = 0, total = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

struct VqaAccuracy {
  Tally overall;                         // every question counts once (micro average)
  std::map<std::string, Tally> by_type;  // sorted by type name, so JSON output is stable
};

// Whether the prediction matches one of the accepted answers after normalize_answer().
bool vqa_correct(const VqaSample& sample);

VqaAccuracy vqa_accuracy(const std::vector<VqaSample>& samples);

}  // namespace setok::eval
