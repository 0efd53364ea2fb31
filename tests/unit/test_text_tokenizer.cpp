// SentencePiece through TextTokenizer: training on text, round trips, and the image delimiters as
// single special ids (built in when trained here, appended for a LLaMA model without them).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/llm/text_tokenizer.h"
#include "core/mllm/answer.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using namespace setok::llm;

namespace {
std::vector<std::string> corpus() {
  std::vector<std::string> s;
  const char* colours[] = {"red", "green", "blue", "yellow", "purple", "orange", "white", "black"};
  const char* shapes[] = {"circle", "square", "triangle", "star", "ring", "cross", "hexagon", "ellipse"};
  for (int i = 0; i < 400; ++i)
    s.push_back(std::string("a ") + colours[i % 8] + " " + shapes[(i / 8) % 8] + " is left of a " +
                colours[(i + 3) % 8] + " " + shapes[(i + 5) % 8] + ".");
  return s;
}
}  // namespace

TEST(TextTokenizer, TrainsRoundTripsAndKeepsImageDelimitersWhole) {
  test::TempDir dir;
  TextTokenizer::train(corpus(), dir / "sp", 400);
  TextTokenizer t = TextTokenizer::load(dir / "sp.model");
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_LT(t.img_begin_id(), t.vocab_size());
  EXPECT_NE(t.img_begin_id(), t.img_end_id());
  const std::string text = "a red star is left of a blue ring.";
  auto ids = t.encode(text);
  EXPECT_EQ(t.decode(ids), text);
  EXPECT_LT(ids.size(), text.size());  // subwords, not characters
  EXPECT_LE(t.encode("triangle").size(), 3u);
  auto with_img = t.encode("USER: [Img][/Img] what is it?", /*add_bos=*/true);
  EXPECT_EQ(with_img.front(), t.bos_id());
  EXPECT_EQ(std::count(with_img.begin(), with_img.end(), t.img_begin_id()), 1);
  EXPECT_EQ(std::count(with_img.begin(), with_img.end(), t.img_end_id()), 1);
  auto b = std::find(with_img.begin(), with_img.end(), t.img_begin_id());
  EXPECT_EQ(*(b + 1), t.img_end_id());
  EXPECT_EQ(t.decode(with_img), "USER:  what is it?");
  // Text the corpus never had still round-trips (byte fallback).
  EXPECT_EQ(t.decode(t.encode("Zürich 42 ✓")), "Zürich 42 ✓");
}

TEST(TextTokenizer, AppendsDelimitersToAModelWithoutThem) {
  test::TempDir dir;
  TextTokenizer::train(corpus(), dir / "plain", 380, /*image_pieces=*/false);
  TextTokenizer t = TextTokenizer::load(dir / "plain.model");
  const std::int64_t base = t.vocab_size() - 2;
  EXPECT_EQ(t.img_begin_id(), base);
  EXPECT_EQ(t.img_end_id(), base + 1);
  auto ids = t.encode("[Img][/Img]");
  EXPECT_EQ(ids, (std::vector<std::int64_t>{base, base + 1}));
}

TEST(TextTokenizer, BadFilesAreErrors) {
  test::TempDir dir;
  EXPECT_THROW(TextTokenizer::load(dir / "none.model"), Error);
  test::write_bytes(dir / "junk.model", "not a protobuf");
  EXPECT_THROW(TextTokenizer::load(dir / "junk.model"), Error);
  EXPECT_THROW(TextTokenizer::train({}, dir / "x", 100), Error);
}

TEST(TextTokenizer, SegTokenComesAfterTheVocabularyAndIsOneId) {
  test::TempDir dir;
  TextTokenizer::train(corpus(), dir / "sp", 400);
  TextTokenizer t = TextTokenizer::load(dir / "sp.model");
  EXPECT_EQ(t.seg_id(), t.vocab_size());
  EXPECT_FALSE(t.has_seg_token(t.vocab_size()));
  EXPECT_TRUE(t.has_seg_token(t.vocab_size() + 1));
  auto ids = t.encode("a red star [SEG] and [Img][/Img]");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), t.seg_id()), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), t.img_begin_id()), 1);
  EXPECT_EQ(t.decode(ids), "a red star  and ");  // decode drops specials; answers keep [SEG] (mllm/answer.h)
  EXPECT_EQ(mllm::decode_with_seg(t, ids), "a red star [SEG] and ");
  // The null prompt of guidance comes right after [SEG], one id, and never reaches the text.
  EXPECT_EQ(t.null_id(), t.seg_id() + 1);
  EXPECT_FALSE(t.has_null_token(t.vocab_size() + 1));
  EXPECT_TRUE(t.has_null_token(t.vocab_size() + 2));
  auto nul = t.encode("Generate an image: [Null]");
  EXPECT_EQ(std::count(nul.begin(), nul.end(), t.null_id()), 1);
  EXPECT_EQ(t.decode(nul).find("Null"), std::string::npos);
}
