#include "core/eval/vqa_metrics.h"

#include <cctype>
#include <sstream>
#include <unordered_map>

namespace setok::eval {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

const std::unordered_map<std::string, std::string>& number_words() {
  static const std::unordered_map<std::string, std::string> m = {
      {"none", "0"},      {"zero", "0"},     {"one", "1"},      {"two", "2"},        {"three", "3"},
      {"four", "4"},      {"five", "5"},     {"six", "6"},      {"seven", "7"},      {"eight", "8"},
      {"nine", "9"},      {"ten", "10"},     {"eleven", "11"},  {"twelve", "12"},    {"thirteen", "13"},
      {"fourteen", "14"}, {"fifteen", "15"}, {"sixteen", "16"}, {"seventeen", "17"}, {"eighteen", "18"},
      {"nineteen", "19"}, {"twenty", "20"}};
  return m;
}

}  // namespace

std::string normalize_answer(std::string_view answer) {
  std::string text;
  text.reserve(answer.size());
  for (std::size_t i = 0; i < answer.size(); ++i) {
    const char c = answer[i];
    const auto u = static_cast<unsigned char>(c);
    const bool between_digits = i > 0 && i + 1 < answer.size() && is_digit(answer[i - 1]) && is_digit(answer[i + 1]);
    if (c == '.' && between_digits) {
      text += c;  // 2.5 stays a number
    } else if (c == ',' && between_digits) {
      // thousands separator: 1,000 → 1000
    } else if (std::ispunct(u)) {
      // Apostrophes join ("don't" → "dont"), other marks separate ("red/blue" → "red blue").
      if (c != '\'') text += ' ';
    } else {
      text += static_cast<char>(std::tolower(u));
    }
  }
  std::istringstream words(text);
  std::string w, out;
  while (words >> w) {
    if (w == "a" || w == "an" || w == "the") continue;
    auto it = number_words().find(w);
    if (it != number_words().end()) w = it->second;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

bool vqa_correct(const VqaSample& sample) {
  const std::string pred = normalize_answer(sample.prediction);
  for (const auto& a : sample.answers)
    if (normalize_answer(a) == pred) return true;
  return false;
}

VqaAccuracy vqa_accuracy(const std::vector<VqaSample>& samples) {
  VqaAccuracy acc;
  for (const auto& s : samples) {
    const bool ok = vqa_correct(s);
    auto& t = acc.by_type[s.question_type];
    t.correct += ok;
    ++t.total;
    acc.overall.correct += ok;
    ++acc.overall.total;
  }
  return acc;
}

}  // namespace setok::eval
