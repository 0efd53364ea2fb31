// The chat session (with SentencePiece): asking, stopping, regenerating, editing, saving, and
// conversations sharing one loaded model.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/io/image.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setokim.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::mllm;
using setok::test::image;
using setok::test::tiny;

#ifdef SETOK_HAVE_SENTENCEPIECE
#include "core/mllm/chat_session.h"

namespace {
// A tiny untrained SeTokim with a trained text tokenizer in DIR/m; returns a 64 × 64 image for it.
io::Image toy_chat_model(const test::TempDir& d) {
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: what colour is the square? ASSISTANT: the square number " + std::to_string(i) + " is red.");
  std::filesystem::create_directories(d.path() / "m");
  llm::TextTokenizer::train(text, d / "m/tokenizer", 300);
  at::manual_seed(0);
  SetokimConfig cfg = tiny(Connector::kSetok);
  cfg.text.vocab_size = 320;
  Setokim m(cfg);
  save_setokim(d / "m", m);
  io::Image img;
  img.width = img.height = 64;
  at::Tensor px = (image()[0].permute({1, 2, 0}) * 0.5 + 0.5).mul(255).round().to(at::kByte).contiguous();
  img.rgb.assign(px.data_ptr<std::uint8_t>(), px.data_ptr<std::uint8_t>() + px.numel());
  return img;
}
}  // namespace

TEST(ChatSession, AsksStopsRegeneratesEditsAndRoundTripsThroughJson) {
  test::TempDir d;
  const io::Image img = toy_chat_model(d);
  ChatSession s(d / "m");
  ChatSampling greedy;
  greedy.max_tokens = 6;
  EXPECT_THROW(s.ask("", greedy), Error);  // nothing to ask
  const int i = s.add_image(img, "toy.png");
  EXPECT_EQ(i, 0);
  ASSERT_EQ(s.images().size(), 1u);
  EXPECT_EQ(s.images()[0].token_of_patch.size(), 64u);  // 8 × 8 patches
  const ChatTurn first = s.ask("what colour is the square?", greedy);
  ASSERT_EQ(s.turns().size(), 2u);
  EXPECT_EQ(s.turns()[0].images, std::vector<int>{0});
  EXPECT_TRUE(s.pending_images().empty());
  ASSERT_EQ(first.attention.size(), 1u);
  ASSERT_EQ(static_cast<int>(first.attention[0].size()), s.images()[0].tokens);
  float mass = 0;
  for (float w : first.attention[0]) mass += w;
  EXPECT_GT(mass, 0.0f);  // an untrained model still looks at the image a little
  EXPECT_LE(mass, 1.0001f);
  // Regenerate (greedy): the same answer, replacing the old one.
  EXPECT_EQ(s.regenerate(greedy).text, first.text);
  EXPECT_EQ(s.turns().size(), 2u);
  // Stop after the first piece: the turn keeps what came and says so.
  int pieces = 0;
  const ChatTurn& cut = s.ask("and the circle?", greedy, [&](const std::string&) { return ++pieces < 1; });
  EXPECT_TRUE(cut.stopped);
  EXPECT_EQ(s.turns().size(), 4u);
  // Edit the first question: everything after it goes, and it is answered again.
  s.edit(0, "what shape is it?", greedy);
  ASSERT_EQ(s.turns().size(), 2u);
  EXPECT_EQ(s.turns()[0].text, "what shape is it?");
  EXPECT_THROW(s.edit(1, "an answer is not a question", greedy), Error);
  // Save and open.
  nlohmann::json j = s.to_json();
  ChatSession t(d / "m");
  std::vector<std::string> loaded;
  t.from_json(j, [&](const std::string& src) {
    loaded.push_back(src);
    return img;
  });
  EXPECT_EQ(loaded, std::vector<std::string>{"toy.png"});
  ASSERT_EQ(t.turns().size(), 2u);
  EXPECT_EQ(t.turns()[1].text, s.turns()[1].text);
  EXPECT_EQ(t.to_json(), j);
  EXPECT_THROW(t.from_json(nlohmann::json{{"messages", {{{"role", "robot"}, {"text", "x"}}}}},
                           [&](const std::string&) { return img; }),
               Error);
}

// Weights apart from state: conversations over one loaded model keep their own images and turns,
// and answer as conversations with models of their own do.
TEST(ChatSession, ConversationsShareOneLoadedModel) {
  test::TempDir d;
  const io::Image img = toy_chat_model(d);
  ChatSampling greedy;
  greedy.max_tokens = 6;
  ChatSession alone(d / "m");
  alone.add_image(img, "toy.png");
  const std::string colour = alone.ask("what colour is the square?", greedy).text;
  const std::string shape = alone.ask("what shape is it?", greedy).text;

  const std::shared_ptr<const LoadedSetokim> shared = LoadedSetokim::load(d / "m");
  auto a = std::make_unique<ChatSession>(shared);
  ChatSession b(shared);
  EXPECT_EQ(a->model().get(), b.model().get());
  EXPECT_EQ(b.model_dir(), d / "m");
  a->add_image(img, "toy.png");
  b.add_image(img, "toy.png");
  EXPECT_EQ(a->ask("what colour is the square?", greedy).text, colour);
  EXPECT_EQ(b.ask("what colour is the square?", greedy).text, colour);
  EXPECT_EQ(a->ask("what shape is it?", greedy).text, shape);
  EXPECT_EQ(a->turns().size(), 4u);
  EXPECT_EQ(b.turns().size(), 2u);  // nothing of a's conversation in b's
  a.reset();                        // the model lives on while a conversation holds it
  EXPECT_EQ(b.ask("what shape is it?", greedy).text, shape);
  EXPECT_THROW(ChatSession(std::shared_ptr<const LoadedSetokim>()), Error);
}
#endif
