// The Segment tool in the Edit dock, driven as a user would: the mask editing that needs no
// decoder (start from token, brush, eraser, undo and redo by button and by key, named masks,
// exports read back from disk, the messages for bad input), then, where the bundled SeTokim has a
// trained mask decoder, the decoder's side: hover preview, click, right click, box, expression and
// the candidates with their predicted IoU.
#include <gtest/gtest.h>

#include <QAbstractButton>
#include <QApplication>
#include <QDockWidget>
#include <QLineEdit>
#include <QListWidget>
#include <QMouseEvent>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>
#include <QUndoStack>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/data/coco_rle.h"
#include "core/data/scene_render.h"
#include "core/data/scenes.h"
#include "core/edit/mask_export.h"
#include "core/heads/segmenter.h"
#include "core/io/image.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_export.h"
#include "tests/support/temp_dir.h"
#include "ui/chat_panel.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/segment_panel.h"
#include "ui/segment_session.h"

using setok::ui::MainWindow;
using setok::ui::SegmentPanel;
using Mode = setok::ui::SegmentTool::Mode;

namespace {

QString sample() { return QString(SETOK_SAMPLES) + "/coffee.png"; }

void send_mouse(QWidget* w, QEvent::Type type, const QPoint& pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
  QMouseEvent e(type, QPointF(pos), QPointF(w->mapToGlobal(pos)), button, buttons, Qt::NoModifier);
  QApplication::sendEvent(w, &e);
}

void click(QWidget* w, const QPoint& pos, Qt::MouseButton button = Qt::LeftButton) {
  send_mouse(w, QEvent::MouseButtonPress, pos, button, button);
  send_mouse(w, QEvent::MouseButtonRelease, pos, button, Qt::NoButton);
}

void drag(QWidget* w, const QPoint& from, const QPoint& to, Qt::MouseButton button = Qt::LeftButton) {
  send_mouse(w, QEvent::MouseButtonPress, from, button, button);
  constexpr int kSteps = 12;
  for (int k = 1; k <= kSteps; ++k)
    send_mouse(w, QEvent::MouseMove, from + (to - from) * k / kSteps, Qt::NoButton, button);
  send_mouse(w, QEvent::MouseButtonRelease, to, button, Qt::NoButton);
}

bool decoder_available() {
  const std::string dir = setok::tokenizer::default_setokim_model();
  return !dir.empty() && setok::heads::Segmenter::has_decoder(dir);
}

double iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::int64_t inter = 0, uni = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    inter += a[i] && b[i];
    uni += a[i] || b[i];
  }
  return uni ? double(inter) / uni : 0.0;
}

// The pixel of `mask` farthest from its outside (4-neighbour distance), as the click simulations
// of interactive segmentation pick a first click.
QPoint interior_point(const std::vector<std::uint8_t>& mask, int w, int h) {
  std::vector<int> d(mask.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t i = std::size_t(y) * w + x;
      d[i] = !mask[i] ? 0 : 1 + std::min(x > 0 ? d[i - 1] : 0, y > 0 ? d[i - w] : 0);
    }
  QPoint best(-1, -1);
  int far = 0;
  for (int y = h - 1; y >= 0; --y)
    for (int x = w - 1; x >= 0; --x) {
      const std::size_t i = std::size_t(y) * w + x;
      if (!mask[i]) continue;
      d[i] = std::min({d[i], 1 + (x + 1 < w ? d[i + 1] : 0), 1 + (y + 1 < h ? d[i + w] : 0)});
      if (d[i] > far) far = d[i], best = QPoint(x, y);
    }
  return best;
}

struct SegmentTool : ::testing::Test {
  void SetUp() override {
    QSettings().clear();
    w = std::make_unique<MainWindow>();
    w->resize(1100, 750);
    w->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(w.get()));
    panel = w->segmentPanel();
    ASSERT_NE(panel, nullptr);
  }
  void TearDown() override { w.reset(); }

  setok::ui::TokenizePtr open(const QString& path) {
    QSignalSpy shown(w.get(), &MainWindow::tokensShown);
    QString err;
    EXPECT_TRUE(w->loadImage(path, &err)) << err.toStdString();
    EXPECT_TRUE(shown.wait(60000)) << "no tokens on screen";
    return w->currentTokens();
  }
  // The Edit dock's tab in front: the tool has the canvas.
  void activate() {
    w->canvas()->setHudVisible(false);  // nothing over the image to take the pointer
    w->activateWindow();
    (void)QTest::qWaitForWindowActive(w.get(), 2000);  // keys then also pass the shortcut map, as typed ones do
    w->panel("Edit")->raise();
    ASSERT_TRUE(QTest::qWaitFor([&] { return panel->isActive(); }, 5000)) << "the tool is on while its tab shows";
  }
  QPoint widgetPos(const QPointF& img) const { return w->canvas()->imageToWidget(img + QPointF(0.5, 0.5)).toPoint(); }
  const std::vector<std::uint8_t>& bits(int i = -1) const {
    const auto& d = panel->document();
    return d.mask(i < 0 ? d.current() : i).bits;
  }
  // The files both exports wrote, read back with the existing decoders.
  void expectExportsReadBack(const std::string& imageFile) {
    setok::test::TempDir dir;
    QString err;
    ASSERT_TRUE(panel->exportPng(QString::fromStdString(dir / "masks.png"), &err)) << err.toStdString();
    ASSERT_TRUE(panel->exportRle(QString::fromStdString(dir / "masks.json"), &err)) << err.toStdString();
    const auto& doc = panel->document();
    const auto png = setok::io::load_image(dir / "masks.png");
    ASSERT_EQ(png.width, doc.width());
    ASSERT_EQ(png.height, doc.height());
    const auto map = setok::edit::mask_index_map(doc);
    for (std::size_t p = 0; p < map.size(); ++p) ASSERT_EQ(png.rgb[3 * p], map[p]) << "pixel " << p;
    std::ifstream f(dir / "masks.json");
    const nlohmann::json j = nlohmann::json::parse(f);
    EXPECT_EQ(j["images"][0]["file_name"], imageFile);
    int nonEmpty = 0;
    for (const auto& m : doc.masks()) nonEmpty += m.area() > 0;
    ASSERT_EQ(static_cast<int>(j["annotations"].size()), nonEmpty);
    for (const auto& a : j["annotations"]) {
      const auto& m = doc.mask(a["index"].get<int>() - 1);
      EXPECT_EQ(setok::data::rle_decode(setok::tokenizer::rle_from_json(a["segmentation"])), m.bits);
      std::string category;
      for (const auto& c : j["categories"])
        if (c["id"] == a["category_id"]) category = c["name"];
      EXPECT_EQ(category, m.name);
    }
  }

  std::unique_ptr<MainWindow> w;
  SegmentPanel* panel = nullptr;
};

// A token whose 9×9 neighbourhood of some pixel is all its own, the largest such; and that pixel.
std::pair<int, QPoint> big_token(const setok::engine::TokenizeResult& r) {
  std::vector<std::int64_t> area(r.tokens.size());
  for (auto t : r.map)
    if (t >= 0 && t < static_cast<int>(area.size())) ++area[t];
  std::pair<int, QPoint> best{-1, {}};
  for (int y = 4; y < r.height - 4; y += 3)
    for (int x = 4; x < r.width - 4; x += 3) {
      const int t = r.map[std::size_t(y) * r.width + x];
      if (best.first >= 0 && area[t] <= area[best.first]) continue;
      bool ok = true;
      for (int dy = -4; dy <= 4 && ok; ++dy)
        for (int dx = -4; dx <= 4 && ok; ++dx) ok = r.map[std::size_t(y + dy) * r.width + x + dx] == t;
      if (ok) best = {t, QPoint(x, y)};
    }
  return best;
}

}  // namespace

TEST_F(SegmentTool, StartFromTokenBrushEraserAndUndoNeedNoDecoder) {
  const auto r = open(sample());
  ASSERT_TRUE(r && r->ok());
  activate();
  auto* c = w->canvas();
  const auto [token, inside] = big_token(*r);
  ASSERT_GE(token, 0);
  const int selectionSteps = w->undoStack()->count();

  // Start from token: the next click takes the token under the pointer, then the tool clicks again.
  panel->modeButton(Mode::kPickToken)->click();
  EXPECT_EQ(panel->mode(), Mode::kPickToken);
  click(c, widgetPos(inside));
  ASSERT_EQ(panel->document().count(), 1);
  std::vector<std::uint8_t> tokenMask(r->map.size());
  for (std::size_t p = 0; p < tokenMask.size(); ++p) tokenMask[p] = r->map[p] == token;
  EXPECT_EQ(bits(), tokenMask);
  EXPECT_EQ(panel->document().undo_label(), "Start from token");
  EXPECT_EQ(panel->mode(), Mode::kClick);

  // A brush stroke across the image: one step, every pixel it had kept, the path's middle painted.
  panel->modeButton(Mode::kBrush)->click();
  panel->sizeSlider()->setValue(6);
  EXPECT_FLOAT_EQ(panel->tool()->brushRadius(), 6.0f);
  const QPointF a(20, r->height * 0.8), b(r->width - 20, r->height * 0.8);
  drag(c, widgetPos(a), widgetPos(b));
  const auto brushed = bits();
  EXPECT_EQ(panel->document().undo_label(), "Brush");
  for (std::size_t p = 0; p < brushed.size(); ++p) ASSERT_GE(brushed[p], tokenMask[p]) << "a brush only adds";
  const QPoint mid = ((a + b) / 2).toPoint();
  EXPECT_EQ(brushed[std::size_t(mid.y()) * r->width + mid.x()], 1);
  EXPECT_GT(panel->document().current_mask()->area(), std::count(tokenMask.begin(), tokenMask.end(), 1) + 500);

  // The eraser through the token's inside.
  panel->modeButton(Mode::kEraser)->click();
  drag(c, widgetPos(inside - QPoint(3, 0)), widgetPos(inside + QPoint(3, 0)));
  const auto erased = bits();
  EXPECT_EQ(panel->document().undo_label(), "Eraser");
  EXPECT_EQ(erased[std::size_t(inside.y()) * r->width + inside.x()], 0);

  // Undo and redo, bit for bit: Ctrl+Z / Ctrl+Shift+Z on the canvas, then the panel's buttons.
  c->setFocus();
  QTest::keyClick(c, Qt::Key_Z, Qt::ControlModifier);
  EXPECT_EQ(bits(), brushed);
  QTest::keyClick(c, Qt::Key_Z, Qt::ControlModifier);
  EXPECT_EQ(bits(), tokenMask) << "one undo takes back a whole stroke";
  QTest::keyClick(c, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
  EXPECT_EQ(bits(), brushed);
  panel->redoButton()->click();
  EXPECT_EQ(bits(), erased);
  panel->undoButton()->click();
  EXPECT_EQ(bits(), brushed);
  panel->redoButton()->click();
  EXPECT_EQ(w->undoStack()->count(), selectionSteps) << "the token selection's history is untouched";
}

TEST_F(SegmentTool, NamedMasksAreAddedRenamedDeletedAndExported) {
  const auto r = open(sample());
  ASSERT_TRUE(r && r->ok());
  activate();
  auto* c = w->canvas();
  // A first stroke with no mask yet makes one.
  panel->modeButton(Mode::kBrush)->click();
  drag(c, widgetPos(QPointF(100, 100)), widgetPos(QPointF(200, 150)));
  ASSERT_EQ(panel->document().count(), 1);
  const auto first = bits();

  // Add, brush onto the new one, rename (in the list too), delete and undo the delete.
  panel->addMask();
  ASSERT_EQ(panel->document().count(), 2);
  EXPECT_EQ(panel->document().current(), 1);
  EXPECT_EQ(panel->maskList()->count(), 2);
  click(c, widgetPos(QPointF(30, 30)));
  EXPECT_GT(panel->document().mask(1).area(), 0);
  EXPECT_EQ(panel->document().mask(0).bits, first) << "strokes go to the selected mask only";
  panel->renameMask(1, "saucer");
  EXPECT_EQ(panel->maskList()->item(1)->text(), "saucer");
  panel->maskList()->item(0)->setText("cup");
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->document().mask(0).name == "cup"; }, 2000));
  panel->deleteMask(1);
  EXPECT_EQ(panel->document().count(), 1);
  panel->maskList()->setFocus();
  QTest::keyClick(panel->maskList(), Qt::Key_Z, Qt::ControlModifier);
  ASSERT_EQ(panel->document().count(), 2) << "Ctrl+Z in the panel undoes the delete";
  EXPECT_EQ(panel->document().mask(1).name, "saucer");

  expectExportsReadBack("coffee.png");
}

TEST_F(SegmentTool, BadInputIsAMessageInThePanel) {
  QSignalSpy statuses(panel, &SegmentPanel::statusChanged);
  const auto r = open(sample());
  ASSERT_TRUE(r && r->ok());
  activate();
  panel->expressionField()->clear();
  panel->segmentButton()->click();
  EXPECT_EQ(panel->statusText(), "type an expression first");
  EXPECT_TRUE(panel->statusIsError());
  QString err;
  EXPECT_FALSE(panel->exportPng(QString::fromStdString(setok::test::TempDir() / "none.png"), &err));
  EXPECT_EQ(err, "there are no masks to export yet");
  EXPECT_EQ(panel->statusText(), err);

  // A click beside the image, with the image zoomed out to leave room around it.
  auto* c = w->canvas();
  for (int k = 0; k < 3; ++k) c->zoomOut();
  const QRectF img = c->imageRect();
  ASSERT_GT(img.left(), 8);
  click(c, QPoint(static_cast<int>(img.left() / 2), static_cast<int>(img.center().y())));
  EXPECT_EQ(panel->statusText(), "the click is outside the image");
  EXPECT_TRUE(panel->statusIsError());
  c->fitToWindow();

  setok::test::TempDir dir;
  panel->document().add();
  panel->document().stroke(0, {{50, 50}}, 10, false);
  EXPECT_FALSE(panel->exportRle("/nonexistent-folder/masks.json", &err));
  EXPECT_FALSE(err.isEmpty());
  EXPECT_FALSE(err.contains('\n'));
  EXPECT_TRUE(panel->statusIsError());

  if (decoder_available()) return;
  // No mask decoder: the panel says so once the background encode fails, and a click says why it
  // did nothing; the window stays.
  auto said_no_model = [&] {
    for (const auto& args : statuses)
      if (args.at(0).toString().startsWith("no segmentation model")) return true;
    return false;
  };
  ASSERT_TRUE(QTest::qWaitFor(said_no_model, 120000)) << panel->statusText().toStdString();
  click(c, widgetPos(QPointF(r->width / 2.0, r->height / 2.0)));
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->session()->pending() == 0; }, 120000));
  EXPECT_TRUE(panel->statusIsError()) << panel->statusText().toStdString();
}

// A world scene of the test split (what the decoder is measured on), opened with the tool on and
// its encoding done, and its largest object.
struct DecoderScene : SegmentTool {
  void SetUp() override {
    if (!decoder_available()) GTEST_SKIP() << "the bundled SeTokim has no trained mask decoder yet";
    if (!setok::data::scenes_available()) GTEST_SKIP() << "built without image support";
    SegmentTool::SetUp();
    setok::data::SceneOptions opt;
    opt.split = setok::data::Split::test;
    opt.edits = false;
    scene = setok::data::generate_scene(opt, 0);
    setok::io::save_png(dir / "scene.png", scene.image);
    ASSERT_TRUE(open(QString::fromStdString(dir / "scene.png")));
    activate();
    ASSERT_TRUE(
        QTest::qWaitFor([&] { return panel->statusText().startsWith("Ready") || panel->statusIsError(); }, 120000));
    ASSERT_FALSE(panel->statusIsError()) << panel->statusText().toStdString();
    for (std::size_t k = 0; k < scene.objects.size(); ++k)
      if (scene.objects[k].area > scene.objects[obj].area) obj = k;
  }
  setok::test::TempDir dir;
  setok::data::GeneratedScene scene;
  std::size_t obj = 0;
};

TEST_F(DecoderScene, HoverClickRightClickAndBoxRefineOneMask) {
  const int px = scene.image.width;
  const auto& objects = scene.objects;
  const auto& truth = objects[obj].mask;
  const QPoint inside = interior_point(truth, px, px);
  auto* c = w->canvas();
  QSignalSpy results(panel, &SegmentPanel::resultShown);

  // Hover before the first click: the candidate under the pointer, faintly.
  QSignalSpy previews(panel, &SegmentPanel::previewShown);
  send_mouse(c, QEvent::MouseMove, widgetPos(inside), Qt::NoButton, Qt::NoButton);
  ASSERT_TRUE(previews.wait(60000));
  EXPECT_TRUE(panel->tool()->hasPreview());

  // A left click: the object, its candidates listed with their predicted IoU.
  click(c, widgetPos(inside));
  EXPECT_FALSE(panel->tool()->hasPreview()) << "the click made the preview moot";
  ASSERT_TRUE(results.wait(60000)) << panel->statusText().toStdString();
  EXPECT_GE(iou(bits(), truth), 0.5);
  const auto afterClick = bits();
  ASSERT_TRUE(panel->lastResult());
  EXPECT_EQ(panel->candidateList()->count(), static_cast<int>(panel->lastResult()->result.candidates.size()));
  EXPECT_TRUE(panel->candidateList()->toolTip().contains("predicted IoU"));
  EXPECT_TRUE(panel->statusText().contains("decode")) << panel->statusText().toStdString();

  // A right click on the background, then a box around the object: each refines the same mask.
  QPoint outside(-1, -1);
  for (int y = 2; y < px - 2 && outside.x() < 0; ++y)
    for (int x = 2; x < px - 2 && outside.x() < 0; ++x) {
      bool empty = true;
      for (const auto& o : objects) empty = empty && !o.mask[std::size_t(y) * px + x];
      if (empty && std::abs(x - inside.x()) + std::abs(y - inside.y()) > px / 3) outside = QPoint(x, y);
    }
  ASSERT_GE(outside.x(), 0);
  click(c, widgetPos(outside), Qt::RightButton);
  ASSERT_TRUE(results.wait(60000)) << panel->statusText().toStdString();
  const auto& prompt = panel->document().current_mask()->prompt;
  ASSERT_EQ(prompt.clicks.size(), 2u);
  EXPECT_FALSE(prompt.clicks[1].positive);
  EXPECT_NEAR(prompt.clicks[1].x, outside.x() + 0.5, 1.0) << "image pixel coordinates";
  EXPECT_NEAR(prompt.clicks[1].y, outside.y() + 0.5, 1.0);
  const auto& box = objects[obj].bbox;
  drag(c, widgetPos(QPointF(box[0] - 2, box[1] - 2)), widgetPos(QPointF(box[0] + box[2] + 1, box[1] + box[3] + 1)));
  ASSERT_TRUE(results.wait(60000)) << panel->statusText().toStdString();
  EXPECT_TRUE(panel->document().current_mask()->prompt.box.has_value());
  EXPECT_GE(iou(bits(), truth), 0.5);
  EXPECT_EQ(panel->document().count(), 1);

  // Another candidate picked, then undone: each a step, bit for bit.
  const auto beforePick = bits();
  const setok::ui::SegmentPtr last = panel->lastResult();
  const auto& res = last->result;
  if (res.candidates.size() > 1) {
    const int other = res.best == 0 ? 1 : 0;
    panel->candidateList()->setCurrentRow(other);
    EXPECT_EQ(bits(), res.candidates[other].mask);
    EXPECT_EQ(panel->document().undo_label(), "Pick alternative");
    panel->undo();
    EXPECT_EQ(bits(), beforePick);
  }
  panel->undo();  // the box
  panel->undo();  // the right click
  EXPECT_EQ(bits(), afterClick);
  expectExportsReadBack("scene.png");
}

TEST_F(DecoderScene, AnExpressionGetsAMaskOfItsOwn) {
  const auto& objects = scene.objects;
  QSignalSpy results(panel, &SegmentPanel::resultShown);
  // A mask of the largest object first: the expression's answer comes beside it, named after it.
  panel->document().add("start", objects[obj].mask, {}, "Start from token");
  for (const auto& ref : scene.refs) {
    if (ref.object == objects[obj].object || ref.sentences.empty()) continue;
    panel->expressionField()->setText(QString::fromStdString(ref.sentences[0]));
    panel->segmentButton()->click();
    ASSERT_TRUE(results.wait(120000)) << panel->statusText().toStdString();
    EXPECT_EQ(panel->document().count(), 2);
    EXPECT_EQ(panel->document().current_mask()->prompt.expression, ref.sentences[0]);
    EXPECT_EQ(panel->document().undo_label().rfind("Segment", 0), 0u) << "the answer and its mask: one step";
    std::size_t k = 0;
    while (k < objects.size() && objects[k].object != ref.object) ++k;
    ASSERT_LT(k, objects.size());
    EXPECT_GE(iou(bits(), objects[k].mask), 0.5) << ref.sentences[0];
    break;
  }
  expectExportsReadBack("scene.png");
}

// Stage II: asked in the Chat panel, the model answers [SEG]; its mask joins the Segment tool's
// masks, named after the question, and covers the object the sentence means.
TEST_F(DecoderScene, AChatAnswerOfSegJoinsTheMasks) {
  const auto cfg = nlohmann::json::parse(
      std::ifstream(std::filesystem::path(setok::tokenizer::default_setokim_model()) / "config.json"));
  if (cfg["text_config"]["vocab_size"].get<int>() <= 512) GTEST_SKIP() << "the bundled SeTokim has no [SEG]";
  setok::ui::ChatPanel* chat = w->chatPanel();
  ASSERT_NE(chat, nullptr);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !chat->modelDir().isEmpty() && !chat->busy(); }, 120000));
  const auto& ref = scene.refs.front();
  std::size_t k = 0;
  while (k < scene.objects.size() && scene.objects[k].object != ref.object) ++k;
  ASSERT_LT(k, scene.objects.size());
  QSignalSpy masks(chat, &setok::ui::ChatPanel::maskAnswered);
  const QString question = QString::fromStdString("Segment " + ref.sentences.back() + ".");
  chat->ask(question);
  ASSERT_TRUE(masks.wait(120000)) << "no mask from the chat";
  ASSERT_EQ(panel->document().count(), 1);
  EXPECT_EQ(panel->document().mask(0).name, question.toStdString());
  EXPECT_GE(iou(bits(0), scene.objects[k].mask), 0.5) << ref.sentences.back();
  EXPECT_FALSE(panel->statusIsError()) << panel->statusText().toStdString();
}
