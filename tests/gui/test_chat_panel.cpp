// The Chat panel: loads a SeTokim, answers about the canvas image with streaming, stops,
// regenerates, edits a past question, saves and reopens, and washes the canvas with what an
// answer attended to. A tiny untrained SeTokim: the words are noise, the mechanics are not.
#include <gtest/gtest.h>

#ifdef SETOK_HAVE_SENTENCEPIECE
#include <ATen/ATen.h>

#include <QSignalSpy>
#include <QTest>
#include <filesystem>
#include <memory>

#include "core/io/checkpoint.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/domain_feature.h"
#include "core/mllm/domain_profile.h"
#include "core/mllm/setokim.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"
#include "ui/chat_panel.h"
#include "ui/engine_bridge.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"

using namespace setok;

namespace {
std::string make_setokim(const test::TempDir& d) {
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: what colour is the square? ASSISTANT: the square number " + std::to_string(i) + " is red.");
  std::filesystem::create_directories(d.path() / "chat");
  llm::TextTokenizer::train(text, d / "chat/tokenizer", 300);
  mllm::SetokimConfig c;
  c.vision = test::ToyScenes::tiny_model();
  c.text.vocab_size = 320;
  c.text.hidden_size = 32;
  c.text.intermediate_size = 64;
  c.text.num_hidden_layers = 1;
  c.text.num_attention_heads = 4;
  c.text.num_key_value_heads = 2;
  at::manual_seed(0);
  mllm::Setokim m(c);
  mllm::save_setokim(d / "chat", m);
  return d / "chat";
}

// The toy world's first scene as an image (64 × 64).
io::Image toy_image() {
  test::ToyScenes toy(2);
  at::Tensor px = (toy.get(0).pixels.permute({1, 2, 0}) * 0.5 + 0.5).mul(255).round().to(at::kByte).contiguous();
  io::Image img;
  img.width = img.height = 64;
  img.rgb.assign(px.data_ptr<std::uint8_t>(), px.data_ptr<std::uint8_t>() + px.numel());
  return img;
}

// The studio, shown, with `model` in its Chat panel.
std::unique_ptr<ui::MainWindow> studio_with_chat(const std::string& model) {
  qputenv("SETOK_CHAT_MODEL", QByteArray::fromStdString(model));
  auto w = std::make_unique<ui::MainWindow>();
  qunsetenv("SETOK_CHAT_MODEL");
  w->show();
  return w;
}

bool wait_idle(ui::ChatPanel& p) {
  return QTest::qWaitFor([&] { return !p.busy(); }, 60000);
}
}  // namespace

TEST(ChatPanel, AnswersStopsRegeneratesEditsSavesAndHighlights) {
  test::TempDir d;
  const QString model = QString::fromStdString(make_setokim(d));
  ui::EngineBridge bridge;  // the engine that keeps the conversation (the studio shares its own)
  ui::ChatPanel panel(&bridge);
  QSignalSpy changed(&panel, &ui::ChatPanel::modelChanged);
  QSignalSpy errors(&panel, &ui::ChatPanel::errorOccurred);
  QSignalSpy washes(&panel, &ui::ChatPanel::highlightChanged);
  panel.loadModel(model + "/nowhere");
  ASSERT_TRUE(wait_idle(panel));
  EXPECT_EQ(errors.count(), 1);  // a bad folder is a message, not a crash
  EXPECT_TRUE(panel.modelDir().isEmpty());
  panel.loadModel(model);
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(changed.count(), 1);

  const io::Image img = toy_image();
  panel.setCanvasImage(img, "toy.png");

  panel.ask("what colour is the square?");
  EXPECT_TRUE(panel.busy());
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.turns().size(), 2u);
  EXPECT_EQ(panel.turns()[0].images, std::vector<int>{0});  // the canvas image joined the first question
  EXPECT_EQ(panel.rowCount(), 2);
  EXPECT_TRUE(panel.transcriptText(0).contains("toy.png"));
  EXPECT_TRUE(panel.transcriptText(1).startsWith("SeTokim: "));
  const std::string first = panel.turns()[1].text;

  // Hovering the answer: one weight per patch of the 8 × 8 grid, the most attended token at 1.
  washes.clear();
  panel.hoverRow(1);
  ASSERT_EQ(washes.count(), 1);
  auto w = washes.takeFirst()[0].value<std::vector<float>>();
  ASSERT_EQ(w.size(), 64u);
  EXPECT_FLOAT_EQ(*std::max_element(w.begin(), w.end()), 1.0f);
  panel.hoverRow(0);  // a question: the wash clears
  EXPECT_TRUE(washes.takeFirst()[0].value<std::vector<float>>().empty());

  panel.regenerate();
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.turns().size(), 2u);
  EXPECT_EQ(panel.turns()[1].text, first);  // greedy: the same answer again

  panel.ask("and the circle?");
  panel.stop();
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.turns().size(), 4u);
  EXPECT_TRUE(panel.turns()[3].stopped);
  EXPECT_TRUE(panel.transcriptText(3).contains("(stopped)"));

  panel.editAndRerun(0, "what shape is it?");
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.turns().size(), 2u);
  EXPECT_EQ(panel.turns()[0].text, "what shape is it?");

  const QString file = QString::fromStdString(d / "conv.json");
  QString error;
  ASSERT_TRUE(panel.save(file, &error)) << error.toStdString();
  EXPECT_EQ(io::read_json_file(file.toStdString())["images"][0], "toy.png");
  panel.clear();
  ASSERT_TRUE(wait_idle(panel));
  EXPECT_TRUE(panel.turns().empty());
  panel.open(file);  // "toy.png" is the canvas image's name: it comes from the canvas
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.turns().size(), 2u);
  EXPECT_EQ(panel.turns()[0].text, "what shape is it?");
  EXPECT_EQ(errors.count(), 1);  // nothing else went wrong
}

TEST(ChatPanel, TheStudioWiresItToTheCanvas) {
  test::TempDir d;
  const std::string model = make_setokim(d);
  auto studio = studio_with_chat(model);
  ui::MainWindow& w = *studio;
  ui::ChatPanel* chat = w.chatPanel();
  ASSERT_NE(chat, nullptr);
  ASSERT_TRUE(wait_idle(*chat));
  EXPECT_EQ(chat->modelDir().toStdString(), model);
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/coffee.png", nullptr));
  chat->ask("what is on the table?");
  ASSERT_TRUE(wait_idle(*chat));
  ASSERT_EQ(chat->turns().size(), 2u);
  chat->hoverRow(1);
  EXPECT_TRUE(w.canvas()->hasHighlight());
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/coffee.png", nullptr));  // a new image clears it
  EXPECT_FALSE(w.canvas()->hasHighlight());
}

// After a new image opens, the next question is about it (in a new conversation, said above the
// input beforehand), its answer washes the canvas, and the tooltips promise a wash only where
// hovering gives one.
TEST(ChatPanel, AQuestionFollowsTheCanvasImage) {
  test::TempDir d;
  const std::string model = make_setokim(d);
  auto studio = studio_with_chat(model);
  ui::MainWindow& w = *studio;
  ui::ChatPanel* chat = w.chatPanel();
  ASSERT_TRUE(wait_idle(*chat));
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/coffee.png", nullptr));
  EXPECT_TRUE(chat->nextQuestionLabel().contains("coffee.png")) << chat->nextQuestionLabel().toStdString();
  chat->ask("what is on the table?");
  ASSERT_TRUE(wait_idle(*chat));
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/chelsea.png", nullptr));
  EXPECT_TRUE(chat->nextQuestionLabel().contains("chelsea.png")) << chat->nextQuestionLabel().toStdString();
  EXPECT_TRUE(chat->nextQuestionLabel().contains("new conversation")) << chat->nextQuestionLabel().toStdString();
  // The old answer is about coffee.png: its tooltip says hovering shows nothing, and it does not.
  EXPECT_TRUE(chat->transcriptToolTip(1).contains("coffee.png")) << chat->transcriptToolTip(1).toStdString();
  chat->hoverRow(1);
  EXPECT_FALSE(w.canvas()->hasHighlight());

  chat->ask("what animal is it?");
  ASSERT_TRUE(wait_idle(*chat));
  ASSERT_EQ(chat->turns().size(), 2u);
  ASSERT_EQ(chat->turns()[0].images.size(), 1u) << "the question went out with the canvas image";
  EXPECT_EQ(chat->images()[static_cast<std::size_t>(chat->turns()[0].images[0])].source, "chelsea.png");
  EXPECT_TRUE(chat->transcriptToolTip(1).startsWith("Hover: what the answer looked at"));
  chat->hoverRow(1);
  EXPECT_TRUE(w.canvas()->hasHighlight());
  EXPECT_TRUE(chat->nextQuestionLabel().contains("chelsea.png"));
}

// Under a question, a note says when its image or a word of it is outside what the model was
// trained on (the model's domain.json); a question in the model's own words about a familiar
// image gets none.
TEST(ChatPanel, NotesWhatIsOutsideTheModelsTraining) {
  test::TempDir d;
  const std::string model = make_setokim(d);
  const io::Image img = toy_image();
  mllm::Setokim m = mllm::load_setokim(model);
  const std::vector<float> f = mllm::domain_feature(m, img);
  // The toy image is the training image; a flat grey one is far from it.
  mllm::DomainProfile profile = mllm::DomainProfile::from_features({f}, {}, 0.99);
  for (auto& s : profile.spread) s = 0.01f;
  profile.threshold = 1.0;
  profile.words = {"what", "colour", "is", "the", "square"};
  profile.save(model);

  ui::EngineBridge bridge;  // the engine that keeps the conversation (the studio shares its own)
  ui::ChatPanel panel(&bridge);
  panel.loadModel(QString::fromStdString(model));
  ASSERT_TRUE(wait_idle(panel));
  panel.setCanvasImage(img, "toy.png");
  panel.ask("what colour is the square?");
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.rowCount(), 2) << "no note for a familiar image and known words";

  io::Image grey{64, 64, std::vector<std::uint8_t>(64 * 64 * 3, 128)};
  panel.setCanvasImage(grey, "grey.png");
  panel.ask("describe the square");
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.rowCount(), 3);
  const QString note = panel.transcriptText(1);
  EXPECT_TRUE(note.contains("grey.png is unlike the images")) << note.toStdString();
  EXPECT_TRUE(note.contains("“describe”")) << note.toStdString();
  EXPECT_FALSE(note.contains("“square”")) << note.toStdString();
}

// An answer with no words says so instead of showing an empty line.
TEST(ChatPanel, AnEmptyAnswerIsSaidAsSuch) {
  test::TempDir d;
  const QString model = QString::fromStdString(make_setokim(d));
  ui::EngineBridge bridge;  // the engine that keeps the conversation (the studio shares its own)
  ui::ChatPanel panel(&bridge);
  panel.loadModel(model);
  ASSERT_TRUE(wait_idle(panel));
  const std::string file = d / "empty.json";
  test::write_bytes(file, R"({"format": "setok-chat-1", "images": [], "messages": [
    {"role": "user", "text": "hello"}, {"role": "assistant", "text": ""}]})");
  panel.open(QString::fromStdString(file));
  ASSERT_TRUE(wait_idle(panel));
  ASSERT_EQ(panel.rowCount(), 2);
  EXPECT_TRUE(panel.transcriptText(1).contains("no answer")) << panel.transcriptText(1).toStdString();
}
#endif
