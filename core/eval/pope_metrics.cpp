#include "core/eval/pope_metrics.h"

#include <sstream>
#include <string>

#include "core/data/vocabulary.h"
#include "core/eval/vqa_metrics.h"
#include "core/runtime/error.h"

namespace setok::eval {

std::string pope_question(const std::string& noun, const std::string& wording) {
  if (wording.find("{object}") == std::string::npos)
    throw Error("the POPE question needs {object} where the object's name goes: '" + wording + "'");
  std::string q;  // one pass over the wording, so a name with "{a}" in it is not read again
  for (std::size_t i = 0; i < wording.size();) {
    if (wording.compare(i, 8, "{object}") == 0) {
      q += noun;
      i += 8;
    } else if (wording.compare(i, 3, "{a}") == 0) {
      q += data::article(noun);
      i += 3;
    } else {
      q += wording[i++];
    }
  }
  return q;
}

bool answer_is_yes(std::string_view answer) {
  std::string text(answer);
  for (std::size_t pos = text.find("n't"); pos != std::string::npos; pos = text.find("n't", pos + 4))
    text.replace(pos, 3, " not");
  std::istringstream words(normalize_answer(text));
  std::string w;
  while (words >> w)
    if (w == "no" || w == "not") return false;
  return true;
}

PopeScores pope_scores(const std::vector<bool>& says_yes, const std::vector<bool>& present) {
  if (says_yes.size() != present.size()) throw Error("POPE: one label per answer");
  PopeScores s;
  for (std::size_t i = 0; i < says_yes.size(); ++i) {
    if (says_yes[i]) {
      present[i] ? ++s.tp : ++s.fp;
    } else {
      present[i] ? ++s.fn : ++s.tn;
    }
  }
  const auto ratio = [](int64_t a, int64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  const int64_t n = static_cast<int64_t>(says_yes.size());
  s.accuracy = ratio(s.tp + s.tn, n);
  s.precision = ratio(s.tp, s.tp + s.fp);
  s.recall = ratio(s.tp, s.tp + s.fn);
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  s.yes_ratio = ratio(s.tp + s.fp, n);
  return s;
}

PopeScores pope_scores_from_answers(const std::vector<std::string>& answers, const std::vector<bool>& present) {
  std::vector<bool> yes;
  yes.reserve(answers.size());
  for (const auto& a : answers) yes.push_back(answer_is_yes(a));
  return pope_scores(yes, present);
}

}  // namespace setok::eval
