#pragma once
// POPE-style object hallucination probe (Li et al. 2023): "Is there a {object} in the image?" for
// present and absent objects, scored as binary classification with "yes" as the positive class.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace setok::eval {

// POPE's reading of a free-form answer: "no" if the normalised answer contains the word "no" or
// "not", "yes" otherwise ("No, there is not." → no; "Yes." or "There is a cat." → yes). Unlike
// POPE's script, a contracted "n't" counts as "not" ("There isn't one." → no).
bool answer_is_yes(std::string_view answer);

// The probe's question about an object, with the noun as a sentence uses it: "Is there an ankle
// boot in the image? Answer with yes or no." In `wording`, {object} stands for the noun and {a}
// for its article ("a" or "an"); a wording without {object} is an Error.
inline constexpr const char* kPopeQuestion = "Is there {a} {object} in the image? Answer with yes or no.";
std::string pope_question(const std::string& noun, const std::string& wording = kPopeQuestion);

struct PopeScores {
  double accuracy = 0, precision = 0, recall = 0, f1 = 0;
  double yes_ratio = 0;  // fraction answered "yes": ≫ 0.5 on a balanced probe means a yes-sayer
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

// says_yes[i]: the model's answer read as yes/no; present[i]: whether the asked object is there.
// Precision (and so F1) is 0 when the model never says yes; recall is 0 with no present object.
PopeScores pope_scores(const std::vector<bool>& says_yes, const std::vector<bool>& present);
PopeScores pope_scores_from_answers(const std::vector<std::string>& answers, const std::vector<bool>& present);

}  // namespace setok::eval
