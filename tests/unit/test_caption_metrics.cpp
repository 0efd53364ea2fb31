// core/eval/caption_metrics.h: CIDEr-D on small corpora whose scores are worked out by hand in the
// comments.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/eval/caption_metrics.h"
#include "core/runtime/error.h"

using namespace setok::eval;

TEST(CiderD, TokenizationLowercasesAndDropsPunctuation) {
  EXPECT_EQ(tokenize_caption("A dog's toy."), (std::vector<std::string>{"a", "dog", "s", "toy"}));
  EXPECT_EQ(tokenize_caption("  Red,  BLUE!\tgreen "), (std::vector<std::string>{"red", "blue", "green"}));
  EXPECT_TRUE(tokenize_caption("...").empty());
}

TEST(CiderD, OneImageCorpusScoresZero) {
  // With one image every n-gram has df = 1 and idf = log(#images) − log(df) = log 1 − log 1 = 0:
  // all TF-IDF vectors are 0, each cosine is defined as 0, so even a perfect caption scores 0.
  // CIDEr is a corpus-level metric; it says nothing about one image alone.
  const auto r = cider_d({"a red cube"}, {{"a red cube"}});
  EXPECT_DOUBLE_EQ(r.per_image.at(0), 0.0);
  EXPECT_DOUBLE_EQ(r.corpus, 0.0);
}

TEST(CiderD, TwoImageCorpusWithKnownCounts) {
  // Images A (ref "a cat") and B (ref "a dog"), L = log 2. df: "a" 2; "cat", "dog", "a cat",
  // "a dog" 1 each. idf = log 2 − log df: "a" → 0, every other n-gram → L.
  // Candidate = reference for A: order 1 vector {a: 0, cat: L}, norm L; order 2 {a cat: L}, norm L.
  // Cosines: order 1 = L·L/(L·L) = 1, order 2 = 1, orders 3–4 have no n-grams → 0. Same length →
  // penalty 1. Score = 10 · (1 + 1 + 0 + 0)/4 = 5, and the same for B.
  const auto r = cider_d({"a cat", "A dog."}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 5.0, 1e-12);
  EXPECT_NEAR(r.per_image.at(1), 5.0, 1e-12);
  EXPECT_NEAR(r.corpus, 5.0, 1e-12);
  // Swapped candidates share only "a", whose weight is 0: both score 0.
  EXPECT_NEAR(cider_d({"a dog", "a cat"}, {{"a cat"}, {"a dog"}}).corpus, 0.0, 1e-12);
}

TEST(CiderD, RepeatedWordsAreClipped) {
  // Corpus as above; candidate for A "cat cat". Order 1: candidate {cat: 2L}, norm 2L; reference
  // {a: 0, cat: L}, norm L. Clipped dot product: min(2L, L)·L = L² → cosine L²/(2L·L) = 1/2
  // (unclipped it would be 2L·L/(2L·L) = 1). Order 2: "cat cat" (df 0 → taken as 1, weight L) is
  // not in the reference → 0. Equal lengths. Score = 10 · (1/2)/4 = 1.25.
  const auto r = cider_d({"cat cat", "a dog"}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 1.25, 1e-12);
}

TEST(CiderD, GaussianLengthPenalty) {
  // Candidate "cat" for A: order 1 {cat: L} vs {a: 0, cat: L}: cosine 1; no bigrams → 0.
  // Lengths 1 vs 2: penalty exp(−1/(2·6²)) = exp(−1/72). Score = 10 · exp(−1/72)/4.
  const auto r = cider_d({"cat", "a dog"}, {{"a cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 2.5 * std::exp(-1.0 / 72.0), 1e-12);
  // A wider σ penalises less.
  EXPECT_NEAR(cider_d({"cat", "a dog"}, {{"a cat"}, {"a dog"}}, CiderOptions{4, 1.0}).per_image.at(0),
              2.5 * std::exp(-0.5), 1e-12);
}

TEST(CiderD, AveragedOverReferences) {
  // A has refs "a cat" and "the cat", B has "a dog". df counts images: "a" 2 (A and B), every other
  // n-gram 1, so "a" weighs 0 and the rest L. Candidate "a cat":
  //   vs "a cat": orders 1, 2 cosine 1 (as above).
  //   vs "the cat": order 1 ref {the: L, cat: L}, norm √2·L; dot = L·L → 1/√2; order 2 no overlap.
  // Sum over refs and orders = 1 + 1 + 1/√2; mean over 4 orders and 2 refs, ×10:
  // 10·(2 + 1/√2)/8.
  const auto r = cider_d({"a cat", "a dog"}, {{"a cat", "the cat"}, {"a dog"}});
  EXPECT_NEAR(r.per_image.at(0), 10.0 * (2.0 + 1.0 / std::sqrt(2.0)) / 8.0, 1e-12);
}

TEST(CiderD, PermutingImagesPermutesScores) {
  const std::vector<std::string> cands{"a red cube on the left", "two blue balls", "a green shirt", "red cube"};
  const std::vector<std::vector<std::string>> refs{{"a red cube on the left", "a small red cube"},
                                                   {"two blue spheres", "blue balls"},
                                                   {"a green shirt on a gradient"},
                                                   {"a red cube and a blue ball"}};
  const auto r = cider_d(cands, refs);
  const std::vector<int> perm{2, 0, 3, 1};
  std::vector<std::string> pc;
  std::vector<std::vector<std::string>> pr;
  for (int i : perm) {
    pc.push_back(cands[i]);
    pr.push_back(refs[i]);
  }
  const auto q = cider_d(pc, pr);
  for (std::size_t k = 0; k < perm.size(); ++k) EXPECT_NEAR(q.per_image[k], r.per_image[perm[k]], 1e-12);
  EXPECT_NEAR(q.corpus, r.corpus, 1e-12);
  EXPECT_GT(r.per_image[0], r.per_image[3]);  // the exact caption beats the partial one
  EXPECT_THROW(cider_d({"x"}, {{}}), setok::Error);
}
