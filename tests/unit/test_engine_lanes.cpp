// One worker per kind of model: a chat answer in flight on the SeTokim worker does not hold up a
// tokenize request on the SeTok worker. Ordering, not timing: the answer waits inside its stream
// callback until the tokenize result, asked for after it, has come back.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>

#include "core/engine/engine.h"

#ifdef SETOK_HAVE_SENTENCEPIECE
#include "tests/support/temp_dir.h"
#include "tests/support/toy_chat_model.h"

using namespace setok;
using namespace setok::engine;

TEST(EngineLanes, AnAnswerInFlightDoesNotHoldUpTokenizing) {
  test::TempDir d;
  ChatRequest load;
  load.conversation = 1;
  load.action = ChatAction::kLoadModel;
  load.path = test::toy_chat_model(d);
  Engine e;
  std::promise<ChatOutcome> loaded;
  e.submit(load, [&](ChatOutcome o) { loaded.set_value(std::move(o)); });
  ASSERT_TRUE(loaded.get_future().get().ok());

  std::promise<void> streaming;
  std::promise<TokenizeResult> tokenized;
  std::shared_future<TokenizeResult> tokens = tokenized.get_future().share();
  std::promise<ChatOutcome> answered;
  bool first = true, tokens_came_mid_answer = false;
  ChatRequest ask;
  ask.conversation = 1;
  ask.text = "what colour is the square?";
  ask.image = test::toy_chat_image();
  ask.sampling.max_tokens = 8;
  e.submit(
      ask, [&](ChatOutcome o) { answered.set_value(std::move(o)); },
      [&](const std::string&) {
        if (!first) return true;
        first = false;
        streaming.set_value();
        // The bound only keeps a broken engine (one worker for both) from hanging the test.
        tokens_came_mid_answer = tokens.wait_for(std::chrono::minutes(5)) == std::future_status::ready;
        return true;
      });
  ASSERT_EQ(streaming.get_future().wait_for(std::chrono::minutes(5)), std::future_status::ready) << "no piece came";

  TokenizeRequest t;
  t.image = test::toy_chat_image();
  t.id = 7;
  e.submit(t, [&](TokenizeResult r) { tokenized.set_value(std::move(r)); });
  const ChatOutcome a = answered.get_future().get();
  EXPECT_TRUE(tokens_came_mid_answer) << "the tokenize request waited for the answer";
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.turns.size(), 2u);
  const TokenizeResult& r = tokens.get();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.id, 7u);
  EXPECT_FALSE(r.tokens.empty());
}
#endif
