// core/eval/vqa_metrics.h: VQA answer normalisation and exact match per question type.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/vqa_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(Vqa, AnswerNormalisation) {
  EXPECT_EQ(normalize_answer("Two dogs."), "2 dogs");
  EXPECT_EQ(normalize_answer("The RED cube"), "red cube");
  EXPECT_EQ(normalize_answer("an  apple"), "apple");
  EXPECT_EQ(normalize_answer("none"), "0");
  EXPECT_EQ(normalize_answer("1,000"), "1000");
  EXPECT_EQ(normalize_answer("2.5"), "2.5");
  EXPECT_EQ(normalize_answer("yes."), "yes");
  EXPECT_EQ(normalize_answer("red/blue"), "red blue");
  EXPECT_EQ(normalize_answer("don't"), "dont");
  EXPECT_EQ(normalize_answer("Theater"), "theater");  // "the" only as a whole word
  EXPECT_EQ(normalize_answer(" . "), "");
}

TEST(Vqa, ExactMatchPerQuestionType) {
  const std::vector<VqaSample> samples{{"count", "two", {"2"}},
                                       {"count", "3", {"4"}},
                                       {"colour", "Red.", {"red"}},
                                       {"exists", "yes", {"no"}},
                                       {"shape", "a cube", {"sphere", "cube"}}};
  const auto acc = vqa_accuracy(samples);
  EXPECT_EQ(acc.overall.correct, 3);
  EXPECT_EQ(acc.overall.total, 5);
  EXPECT_DOUBLE_EQ(acc.overall.accuracy(), 0.6);
  EXPECT_DOUBLE_EQ(acc.by_type.at("count").accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(acc.by_type.at("colour").accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(acc.by_type.at("exists").accuracy(), 0.0);
  EXPECT_DOUBLE_EQ(acc.by_type.at("shape").accuracy(), 1.0);
}
