// core/eval/pope_metrics.h: POPE's yes/no answers, its questions and its confusion-matrix scores.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/data/vocabulary.h"
#include "core/eval/pope_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(Pope, ReadsYesNoAnswers) {
  EXPECT_TRUE(answer_is_yes("Yes, there is a cat."));
  EXPECT_TRUE(answer_is_yes("I see one."));
  EXPECT_FALSE(answer_is_yes("No."));
  EXPECT_FALSE(answer_is_yes("There is not a dog"));
  EXPECT_FALSE(answer_is_yes("There isn't a dog."));
  EXPECT_TRUE(answer_is_yes("Nothing else, it is a note"));  // "no" only as a whole word
}

TEST(Pope, AsksAboutAnObjectInTheWordsOfASentence) {
  // The scenes world's categories carry Fashion-MNIST's labels; the question uses the world's nouns.
  EXPECT_EQ(pope_question(setok::data::category_noun("Ankle boot")),
            "Is there an ankle boot in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("T-shirt/top")),
            "Is there a t-shirt in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("Trouser")),
            "Is there a pair of trousers in the image? Answer with yes or no.");
  EXPECT_EQ(pope_question(setok::data::category_noun("hexagon")),
            "Is there a hexagon in the image? Answer with yes or no.");
  // A name from another dataset is asked about as it is, with its article.
  EXPECT_EQ(pope_question(setok::data::category_noun("umbrella")),
            "Is there an umbrella in the image? Answer with yes or no.");
  // Other wordings, to see how the answers depend on the phrasing.
  EXPECT_EQ(pope_question("ankle boot", "Do you see {a} {object}? ({object}!)"),
            "Do you see an ankle boot? (ankle boot!)");
  EXPECT_EQ(pope_question("{a}", "Is there {a} {object}?"), "Is there a {a}?");  // a name is not re-read
  EXPECT_THROW(pope_question("star", "Is there a star?"), setok::Error);
}

TEST(Pope, ConfusionMatrixScores) {
  // yes/present: (Y,P) (Y,A) (N,A) (N,P) (Y,P) → tp 2, fp 1, tn 1, fn 1.
  // accuracy 3/5; precision 2/3; recall 2/3; F1 2/3; yes ratio 3/5.
  const auto s = pope_scores_from_answers({"Yes", "yes.", "No", "no, not at all", "Yes there is"},
                                          {true, false, false, true, true});
  EXPECT_EQ(s.tp, 2);
  EXPECT_EQ(s.fp, 1);
  EXPECT_EQ(s.tn, 1);
  EXPECT_EQ(s.fn, 1);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.6);
  EXPECT_NEAR(s.precision, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.recall, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.f1, 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(s.yes_ratio, 0.6);
  // A model that never says yes: precision and F1 are 0 by definition, not NaN.
  const auto never = pope_scores({false, false}, {true, false});
  EXPECT_DOUBLE_EQ(never.precision, 0.0);
  EXPECT_DOUBLE_EQ(never.f1, 0.0);
  EXPECT_DOUBLE_EQ(never.accuracy, 0.5);
}
