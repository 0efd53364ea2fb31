// A SeTokim's domain profile: the words of its training questions and the spread of its training
// images' features, with the distance past which an image counts as unfamiliar.
#include <gtest/gtest.h>

#include <random>

#include "core/mllm/domain_profile.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using setok::mllm::DomainProfile;
using setok::mllm::text_words;

TEST(DomainProfile, TextWordsAreLowerCaseWithoutTheImageMarkOrNumbers) {
  EXPECT_EQ(text_words("<image>\nWhat colour is the Pullover? Answer with 1 word."),
            (std::vector<std::string>{"what", "colour", "is", "the", "pullover", "answer", "with", "word"}));
  EXPECT_EQ(text_words("it's the dog's"), (std::vector<std::string>{"it's", "the", "dog's"}));
  EXPECT_TRUE(text_words(" 42 ?! ").empty());
}

TEST(DomainProfile, UnknownWordsAreThoseNoTrainingQuestionUsed) {
  DomainProfile p;
  for (const char* w : {"what", "colour", "is", "the", "square"}) p.words.insert(w);
  EXPECT_TRUE(p.unknown_words("What colour is the square?").empty());
  EXPECT_EQ(p.unknown_words("Describe the image in detail, the image!"),
            (std::vector<std::string>{"describe", "image", "in", "detail"}));
  EXPECT_TRUE(DomainProfile().unknown_words("anything at all").empty()) << "no profile, no complaint";
}

// Features drawn from one distribution: held-out ones from it stay under the threshold about as
// often as the quantile says; features from elsewhere are flagged.
TEST(DomainProfile, TheThresholdSeparatesFamiliarFromUnfamiliarImages) {
  std::mt19937 rng(1);
  std::normal_distribution<float> in(0.0f, 1.0f), out(3.0f, 1.0f);
  auto draw = [&](std::normal_distribution<float>& d, int n) {
    std::vector<std::vector<float>> v(n, std::vector<float>(16));
    for (auto& f : v)
      for (auto& x : f) x = d(rng);
    return v;
  };
  const auto train = draw(in, 2000), held = draw(in, 1000), fresh = draw(in, 1000), far = draw(out, 200);
  const DomainProfile p = DomainProfile::from_features(train, held, 0.99);
  EXPECT_EQ(p.images, 2000);
  EXPECT_NEAR(p.mean[0], 0.0, 0.1);
  EXPECT_NEAR(p.spread[0], 1.0, 0.1);
  int flagged = 0;
  for (const auto& f : fresh) flagged += p.unfamiliar_image(f);
  EXPECT_LT(flagged, 30) << "about 1 % of familiar images are flagged";
  int caught = 0;
  for (const auto& f : far) caught += p.unfamiliar_image(f);
  EXPECT_EQ(caught, 200);
  EXPECT_THROW(p.image_distance(std::vector<float>(3)), setok::Error);
}

TEST(DomainProfile, SavesLoadsAndRefusesABadFile) {
  setok::test::TempDir d;
  EXPECT_FALSE(DomainProfile::load(d.path().string()).has_value()) << "a model without a profile";
  DomainProfile p = DomainProfile::from_features({{1, 2}, {3, 4}, {5, 6}}, {}, 0.99);
  p.words = {"what", "colour"};
  p.save(d.path().string());
  const auto q = DomainProfile::load(d.path().string());
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->mean, p.mean);
  EXPECT_EQ(q->spread, p.spread);
  EXPECT_DOUBLE_EQ(q->threshold, p.threshold);
  EXPECT_EQ(q->words, p.words);
  setok::test::write_bytes(d / "domain.json", R"({"format": "something else"})");
  EXPECT_THROW(DomainProfile::load(d.path().string()), setok::Error);
}
