// The chat template: training's prompt dropping and rewriting, and (with SentencePiece) its loss mask.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/llm/text_tokenizer.h"
#include "core/mllm/chat_template.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using namespace setok::mllm;

// Training's prompt dropping: the suffix goes from user turns that end with it, nowhere else.
TEST(ChatTemplate, DropsAUserSuffixOnlyWhereItEndsTheTurn) {
  const std::string suffix = "Answer with a single word or number.";
  std::vector<ChatMessage> chat = {{"system", "Be brief. " + suffix, 0},
                                   {"user", "How many stars are there? " + suffix, 1},
                                   {"assistant", "2 " + suffix, 0},
                                   {"user", suffix + " What colour is the ring?", 0},
                                   {"user", "Is there a ring?\n" + suffix, 0}};
  auto out = without_user_suffix(chat, suffix);
  ASSERT_EQ(out.size(), chat.size());
  EXPECT_EQ(out[0].text, chat[0].text);  // not a user turn
  EXPECT_EQ(out[1].text, "How many stars are there?");
  EXPECT_EQ(out[1].images, 1);
  EXPECT_EQ(out[2].text, chat[2].text);  // the answer keeps it
  EXPECT_EQ(out[3].text, chat[3].text);  // not at the end
  EXPECT_EQ(out[4].text, "Is there a ring?");
  EXPECT_EQ(without_user_suffix(chat, "")[1].text, chat[1].text);
}

TEST(ChatTemplate, RewritesQuestionsRuleByRuleWithTheChoicesPicked) {
  const std::vector<TextRewrite> rules = {{"in the picture", {"in the picture", "here", "in the scene"}},
                                          {"Answer with a single word or number.", {"Answer in one word.", ""}},
                                          {"nowhere", {"x"}},
                                          {"ring", {}}};  // no choices: skipped
  std::vector<ChatMessage> chat = {{"system", "Is there a star in the picture?", 0},
                                   {"user", "Is there a ring in the picture? Answer with a single word or number.", 1},
                                   {"assistant", "yes, in the picture", 0},
                                   {"user", "How many rings are in the picture? In the picture, count.", 0}};
  std::vector<std::size_t> asked;  // the sizes pick was called with
  std::vector<std::size_t> answers = {2, 0, 1};
  std::size_t next = 0;
  auto out = rewrite_user_text(chat, rules, [&](std::size_t n) {
    asked.push_back(n);
    return answers[next++];
  });
  ASSERT_EQ(out.size(), chat.size());
  EXPECT_EQ(out[0].text, chat[0].text);  // not a user turn
  EXPECT_EQ(out[1].text, "Is there a ring in the scene? Answer in one word.");
  EXPECT_EQ(out[1].images, 1);
  EXPECT_EQ(out[2].text, chat[2].text);                                       // answers keep their words
  EXPECT_EQ(out[3].text, "How many rings are here? In the picture, count.");  // the first occurrence only
  EXPECT_EQ(asked, (std::vector<std::size_t>{3, 2, 3}));                      // only rules that matched drew
  EXPECT_THROW(rewrite_user_text(chat, rules, [](std::size_t n) { return n; }), Error);
}

#ifdef SETOK_HAVE_SENTENCEPIECE
TEST(ChatTemplate, LossCoversAnswersAndTheirEndOnly) {
  test::TempDir d;
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: how many objects are there? ASSISTANT: there are " + std::to_string(i % 7) +
                   " objects, a red star and a blue ring.");
  llm::TextTokenizer::train(text, d / "sp", 400);
  llm::TextTokenizer tok = llm::TextTokenizer::load(d / "sp.model");
  std::vector<ChatMessage> chat{{"system", "You describe scenes.", 0},
                                {"user", "how many objects are there?", 2},
                                {"assistant", "there are 3 objects", 0},
                                {"user", "what colour is the star?", 0},
                                {"assistant", "red", 0}};
  EncodedChat e = encode_chat(tok, chat, false);
  ASSERT_EQ(e.ids.size(), e.loss.size());
  EXPECT_EQ(e.ids.front(), tok.bos_id());
  EXPECT_EQ(e.images, 2);
  EXPECT_EQ(std::count(e.ids.begin(), e.ids.end(), tok.img_begin_id()), 2);
  std::vector<std::int64_t> targets;
  for (std::size_t i = 0; i < e.ids.size(); ++i)
    if (e.loss[i]) targets.push_back(e.ids[i]);
  EXPECT_EQ(std::count(targets.begin(), targets.end(), tok.eos_id()), 2);
  EXPECT_EQ(tok.decode(targets), " there are 3 objects red");
  EXPECT_EQ(tok.decode(e.ids),
            "You describe scenes.\nUSER:\nhow many objects are there?\nASSISTANT: there are 3 "
            "objects\nUSER:\nwhat colour is the star?\nASSISTANT: red\n");
  EncodedChat g = encode_chat(tok, {chat[0], chat[1]}, true);
  EXPECT_EQ(tok.decode(g.ids).substr(tok.decode(g.ids).size() - 10), "ASSISTANT:");
  EXPECT_THROW(encode_chat(tok, {{"robot", "hi", 0}}, true), Error);
  EXPECT_THROW(encode_chat(tok, {{"assistant", "hi", 1}}, true), Error);
}
#endif
