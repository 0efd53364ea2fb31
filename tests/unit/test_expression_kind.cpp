// core/eval/expression_kind.h: the kinds of a scenes-world ref's sentences, read from the order the
// world's writer (data::make_refs) gives them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/data/scene_language.h"
#include "core/eval/expression_kind.h"

using namespace setok::eval;
using Kinds = std::vector<std::vector<std::string>>;

TEST(ExpressionKind, ReadsTheWritersThreeSentences) {
  EXPECT_EQ(scenes_expression_kinds({"the dress", "the small green dress", "the small green dress in the top right"}),
            (Kinds{{"shortest"}, {"full"}, {"with_region"}}));
  // Every region phrase the writer can use.
  for (float y : {10.0f, 64.0f, 120.0f})
    for (float x : {10.0f, 64.0f, 120.0f}) {
      const std::string region = setok::data::region_phrase(x, y, 128);
      EXPECT_EQ(scenes_expression_kinds({"the star", "the large red star", "the large red star " + region})[2],
                std::vector<std::string>{"with_region"})
          << region;
    }
}

TEST(ExpressionKind, TheShortestCanBeTheFullOne) {
  EXPECT_EQ(scenes_expression_kinds({"the small blue hexagon", "the small blue hexagon in the middle"}),
            (Kinds{{"shortest", "full"}, {"with_region"}}));
}

TEST(ExpressionKind, ALoneSentenceIsAPositionReference) {
  EXPECT_EQ(scenes_expression_kinds({"the leftmost red star"}), (Kinds{{"position"}}));
  EXPECT_EQ(scenes_expression_kinds({"the blue bag at the bottom"}), (Kinds{{"position"}}));
  EXPECT_EQ(scenes_expression_kinds({"man in red shirt"}), (Kinds{{}}));
}

TEST(ExpressionKind, SentencesOfAnotherShapeHaveNoKind) {
  // People's sentences (real RefCOCO), a region the writer never uses, more sentences than it writes.
  EXPECT_EQ(scenes_expression_kinds({"guy on left", "man in the red shirt"}), (Kinds{{}, {}}));
  EXPECT_EQ(scenes_expression_kinds({"the star", "the red star", "the red star near the edge"}), (Kinds{{}, {}, {}}));
  EXPECT_EQ(
      scenes_expression_kinds({"the star", "the red star", "the small red star", "the small red star on the left"}),
      (Kinds{{}, {}, {}, {}}));
  EXPECT_TRUE(scenes_expression_kinds({}).empty());
}
