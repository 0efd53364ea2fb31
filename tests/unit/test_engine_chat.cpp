// The engine's chat requests: an answer streams piece by piece on the SeTokim worker, cancelling
// stops it and keeps the question, each conversation keeps its own state in the engine, and
// conversations over one folder share its weights.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine/engine.h"

#ifdef SETOK_HAVE_SENTENCEPIECE
#include "tests/support/temp_dir.h"
#include "tests/support/toy_chat_model.h"

using namespace setok;
using namespace setok::engine;

namespace {

ChatRequest chat(std::uint64_t conversation, ChatAction action) {
  ChatRequest r;
  r.conversation = conversation;
  r.action = action;
  r.sampling.max_tokens = 8;
  return r;
}

ChatOutcome run_chat(Engine& e, ChatRequest r, ChatStream stream = {}) {
  std::promise<ChatOutcome> done;
  std::future<ChatOutcome> f = done.get_future();
  e.submit(
      std::move(r), [&done](ChatOutcome o) { done.set_value(std::move(o)); }, std::move(stream));
  return f.get();
}

ChatRequest load(std::uint64_t conversation, const std::string& dir) {
  ChatRequest r = chat(conversation, ChatAction::kLoadModel);
  r.path = dir;
  return r;
}

ChatRequest ask_about_image(std::uint64_t conversation) {
  ChatRequest r = chat(conversation, ChatAction::kAsk);
  r.text = "what colour is the square?";
  r.image = test::toy_chat_image();
  r.image_source = "toy.png";
  return r;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

}  // namespace

TEST(EngineChat, AnAnswerStreamsAndTheConversationStaysInTheEngine) {
  test::TempDir d;
  const std::string model = test::toy_chat_model(d);
  Engine e;
  const ChatOutcome loaded = run_chat(e, load(1, model));
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_EQ(loaded.model_dir, model);
  EXPECT_GT(loaded.load_model_ms, 0.0);

  std::string streamed;
  bool on_worker = true;
  const ChatOutcome a = run_chat(e, ask_about_image(1), [&](const std::string& piece) {
    streamed += piece;
    on_worker = on_worker && e.on_worker_thread();
    return true;
  });
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.image_index, 0);
  ASSERT_EQ(a.turns.size(), 2u);
  EXPECT_EQ(a.turns[0].images, std::vector<int>{0});
  EXPECT_EQ(a.images.size(), 1u);
  EXPECT_EQ(trimmed(streamed), a.turns[1].text) << "the pieces make the answer";
  EXPECT_TRUE(on_worker);

  // A second conversation over the same folder: the weights are shared, not loaded again, and it
  // has nothing of the first one's.
  const ChatOutcome other = run_chat(e, load(2, model));
  ASSERT_TRUE(other.ok()) << other.error;
  EXPECT_EQ(other.load_model_ms, 0.0);
  EXPECT_TRUE(other.turns.empty());
  // The first one goes on where it was (greedy: the same answer again).
  const ChatOutcome again = run_chat(e, chat(1, ChatAction::kRegenerate));
  ASSERT_TRUE(again.ok()) << again.error;
  ASSERT_EQ(again.turns.size(), 2u);
  EXPECT_EQ(again.turns[1].text, a.turns[1].text);
  const ChatOutcome reset = run_chat(e, chat(1, ChatAction::kReset));
  EXPECT_TRUE(reset.ok() && reset.turns.empty() && reset.images.empty());
}

// Stop while a piece is with the caller: the answer ends there, the question stays, the turn says
// it was stopped; a stream returning false does the same.
TEST(EngineChat, CancelStopsTheAnswerAndKeepsTheQuestion) {
  test::TempDir d;
  const std::string model = test::toy_chat_model(d);
  Engine e;
  ASSERT_TRUE(run_chat(e, load(1, model)).ok());

  std::mutex mu;
  std::condition_variable cv;
  bool reached = false, release = false;
  int pieces = 0;
  std::promise<ChatOutcome> done;
  std::future<ChatOutcome> f = done.get_future();
  ChatRequest ask = ask_about_image(1);
  ask.sampling.max_tokens = 32;
  const Engine::Ticket t = e.submit(
      ask, [&](ChatOutcome o) { done.set_value(std::move(o)); },
      [&](const std::string&) {
        std::unique_lock<std::mutex> l(mu);
        ++pieces;
        reached = true;
        cv.notify_all();
        cv.wait(l, [&] { return release; });
        return true;
      });
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::minutes(2), [&] { return reached; })) << "no piece came";
  }
  e.cancel(t);
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  const ChatOutcome stopped = f.get();
  EXPECT_EQ(stopped.status, Status::kCancelled) << stopped.error;
  EXPECT_EQ(pieces, 1) << "the answer ended at the piece the caller held";
  ASSERT_EQ(stopped.turns.size(), 2u) << "the question stays";
  EXPECT_TRUE(stopped.turns[1].stopped);

  int more = 0;
  const ChatOutcome cut = run_chat(e, chat(1, ChatAction::kRegenerate), [&](const std::string&) { return ++more < 1; });
  EXPECT_EQ(cut.status, Status::kCancelled);
  EXPECT_EQ(more, 1);
  ASSERT_EQ(cut.turns.size(), 2u);
  EXPECT_TRUE(cut.turns[1].stopped);
}

TEST(EngineChat, ErrorsComeBackInOneLineAndLeaveTheConversationAsItWas) {
  test::TempDir d;
  const std::string model = test::toy_chat_model(d);
  Engine e;
  const ChatOutcome none = run_chat(e, ask_about_image(1));
  EXPECT_EQ(none.status, Status::kError);
  EXPECT_NE(none.error.find("no SeTokim model"), std::string::npos) << none.error;
  const ChatOutcome bad = run_chat(e, load(1, d / "nowhere"));
  EXPECT_EQ(bad.status, Status::kError);
  EXPECT_FALSE(bad.error.empty());
  EXPECT_EQ(bad.error.find('\n'), std::string::npos) << "one line";

  ASSERT_TRUE(run_chat(e, load(1, model)).ok());
  ASSERT_TRUE(run_chat(e, ask_about_image(1)).ok());
  const ChatOutcome wrong = run_chat(e, load(1, d / "nowhere"));
  EXPECT_EQ(wrong.status, Status::kError);
  EXPECT_EQ(wrong.model_dir, model) << "a failed load keeps the model that was there";
  EXPECT_EQ(wrong.turns.size(), 2u);
  ChatRequest edit = chat(1, ChatAction::kEdit);
  edit.turn = 1;  // an answer, not a question
  edit.text = "x";
  const ChatOutcome not_a_question = run_chat(e, edit);
  EXPECT_EQ(not_a_question.status, Status::kError);
  EXPECT_EQ(not_a_question.turns.size(), 2u);
  EXPECT_TRUE(run_chat(e, chat(1, ChatAction::kClose)).ok());
  EXPECT_EQ(run_chat(e, chat(1, ChatAction::kRegenerate)).status, Status::kError) << "closed: its state went";
}
#endif
