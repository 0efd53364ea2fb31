// The bridge between the GUI thread and the engine's workers: segment results come back on the GUI
// thread once per request and count as work in flight; chat steps stream their pieces as signals,
// stop on cancel(id) and are left alone by cancelAll (they are the Chat panel's, not the canvas
// image's); switching the inspector's SeTok model keeps the bridge and the chat conversation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <QApplication>
#include <QTest>
#include <QThread>
#include <memory>
#include <string>
#include <vector>

#include "core/heads/segmenter.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"
#include "ui/chat_panel.h"
#include "ui/engine_bridge.h"
#include "ui/main_window.h"

#ifdef SETOK_HAVE_SENTENCEPIECE
#include "tests/support/toy_chat_model.h"
#endif

using namespace setok;

namespace {

io::Image two_halves(int w = 64, int h = 48) {
  io::Image img{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.rgb[(static_cast<std::size_t>(y) * w + x) * 3] = x < w / 2 ? 220 : 20;
  return img;
}

bool on_gui_thread() { return QThread::currentThread() == qApp->thread(); }

}  // namespace

TEST(EngineBridge, SegmentResultsComeBackOncePerRequestOnTheGuiThread) {
  ui::EngineBridge bridge;
  std::vector<ui::SegmentPtr> got;
  bool on_gui = true;
  QObject::connect(&bridge, &ui::EngineBridge::segmented, [&](ui::SegmentPtr r) {
    got.push_back(r);
    on_gui = on_gui && on_gui_thread();
  });
  const quint64 enc = bridge.encodeForSegment(two_halves(), 5);
  heads::SegmentQuery q;
  q.clicks.push_back({10, 10, true});
  const quint64 seg = bridge.segment({}, 5, q, true);  // the key names the image
  EXPECT_EQ(bridge.inFlight(), 2);
  ASSERT_TRUE(QTest::qWaitFor([&] { return got.size() == 2; }, 120000));
  EXPECT_EQ(got[0]->id, enc);
  EXPECT_EQ(got[1]->id, seg);
  EXPECT_EQ(got[1]->image_key, 5u);
  EXPECT_EQ(bridge.inFlight(), 0);
  EXPECT_TRUE(on_gui);
  const std::string dir = tokenizer::default_setokim_model();
  if (!dir.empty() && heads::Segmenter::has_decoder(dir)) {
    ASSERT_TRUE(got[1]->ok()) << got[1]->error;
    EXPECT_FALSE(got[1]->result.candidates.empty());
  } else {
    for (const auto& r : got) {
      EXPECT_EQ(r->status, engine::Status::kError);
      EXPECT_EQ(r->error.find('\n'), std::string::npos) << r->error;
    }
  }
}

#ifdef SETOK_HAVE_SENTENCEPIECE
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

std::string tiny_setok_folder(const test::TempDir& d) {
  at::manual_seed(3);
  tokenizer::SetokModel m(test::ToyScenes::tiny_model());
  tokenizer::save_setok(d / "tiny", m);
  return d / "tiny";
}

}  // namespace

TEST(EngineBridge, ChatStreamsAndOnlyItsOwnCancelStopsIt) {
  test::TempDir d;
  const std::string model = test::toy_chat_model(d);
  ui::EngineBridge bridge;
  std::vector<ui::ChatPtr> done;
  quint64 asked = 0;
  std::string streamed;
  QObject::connect(&bridge, &ui::EngineBridge::chatted, [&](ui::ChatPtr r) { done.push_back(r); });
  QObject::connect(&bridge, &ui::EngineBridge::chatPiece, [&](quint64 id, const QString& piece) {
    if (id == asked) streamed += piece.toStdString();
  });
  engine::ChatRequest load;
  load.conversation = bridge.newConversation();
  load.action = engine::ChatAction::kLoadModel;
  load.path = model;
  bridge.chat(load);
  engine::ChatRequest ask;
  ask.conversation = load.conversation;
  ask.text = "what colour is the square?";
  ask.image = test::toy_chat_image();
  ask.sampling.max_tokens = 8;
  asked = bridge.chat(ask);
  EXPECT_EQ(bridge.inFlight(), 0) << "chat is not the canvas image's work";
  bridge.cancelAll();
  ASSERT_TRUE(QTest::qWaitFor([&] { return done.size() == 2; }, 120000));
  ASSERT_TRUE(done[0]->ok()) << done[0]->error;
  ASSERT_TRUE(done[1]->ok()) << done[1]->error;
  EXPECT_EQ(done[1]->id, asked);
  ASSERT_EQ(done[1]->turns.size(), 2u);
  EXPECT_FALSE(done[1]->turns[1].stopped) << "cancelAll left the answer alone";
  EXPECT_EQ(trimmed(streamed), done[1]->turns[1].text);

  engine::ChatRequest again;
  again.conversation = load.conversation;
  again.action = engine::ChatAction::kRegenerate;
  const quint64 id = bridge.chat(again);
  bridge.cancel(id);
  ASSERT_TRUE(QTest::qWaitFor([&] { return done.size() == 3; }, 120000));
  EXPECT_EQ(done[2]->status, engine::Status::kCancelled) << done[2]->error;
  ASSERT_EQ(done[2]->turns.size(), 2u);
  EXPECT_TRUE(done[2]->turns[1].stopped);
}

// The Models panel's "Use in inspector" swaps the SeTok model inside the one engine: the Chat
// panel's conversation (in the same engine) goes on.
TEST(EngineBridge, SwitchingTheInspectorsModelKeepsTheChat) {
  test::TempDir d;
  const std::string model = test::toy_chat_model(d, "chat");
  qputenv("SETOK_CHAT_MODEL", QByteArray::fromStdString(model));
  auto w = std::make_unique<ui::MainWindow>();
  qunsetenv("SETOK_CHAT_MODEL");
  w->show();
  ui::ChatPanel* chat = w->chatPanel();
  auto idle = [&] { return QTest::qWaitFor([&] { return !chat->busy(); }, 60000); };
  ASSERT_TRUE(idle());
  ASSERT_TRUE(w->loadImage(QString(SETOK_SAMPLES) + "/coffee.png", nullptr));
  chat->ask("what is on the table?");
  ASSERT_TRUE(idle());
  ASSERT_EQ(chat->turns().size(), 2u);
  ui::EngineBridge* bridge = w->bridge();
  w->openModel(QString::fromStdString(tiny_setok_folder(d)));
  EXPECT_EQ(w->bridge(), bridge);
  chat->ask("and the cup?");
  ASSERT_TRUE(idle());
  EXPECT_EQ(chat->turns().size(), 4u) << "the conversation went on";
  EXPECT_EQ(chat->modelDir().toStdString(), model);
}
#endif
