// The Edit tool in the Edit dock, driven as a user would: bad input gets a message in the panel
// (no image, no instruction, nothing selected, a model without a diffusion head); with a SeTokim
// that has one (an untrained head here: the mechanics, not the pictures), a prompt draws a picture
// that opens as the image and can be saved, and an edit's preview is wiped before/after on the
// canvas, accepted as one undo step and undone.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTest>
#include <QUndoStack>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/heads/diffusion_head.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/temp_dir.h"
#include "tests/support/untrained_head.h"
#include "ui/edit_panel.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/segment_panel.h"

using setok::ui::EditPanel;
using setok::ui::MainWindow;
namespace fs = std::filesystem;

namespace {

QString sample() { return QString(SETOK_SAMPLES) + "/coffee.png"; }

// The bundled models, linked into DIR, the SeTokim with an untrained diffusion head beside it.
std::string models_with_head(const setok::test::TempDir& d) {
  const std::string bundled = setok::tokenizer::bundled_models_dir();
  if (bundled.empty() || setok::tokenizer::default_setokim_model().empty()) return {};
  const fs::path dir = d.path() / "models";
  for (const auto& m : fs::directory_iterator(bundled)) {
    fs::create_directories(dir / m.path().filename());
    for (const auto& f : fs::directory_iterator(m.path()))
      fs::create_symlink(fs::absolute(f.path()), dir / m.path().filename() / f.path().filename());
  }
  setok::test::save_untrained_head((dir / "setokim-small").string());
  return dir.string();
}

struct EditTool : ::testing::Test {
  void start() {
    QSettings().clear();
    w = std::make_unique<MainWindow>();
    w->resize(1100, 750);
    w->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(w.get()));
    panel = w->editPanel();
    ASSERT_NE(panel, nullptr);
    w->panel("Edit")->raise();
    auto* tabs = w->findChild<QTabWidget*>("editTools");
    ASSERT_NE(tabs, nullptr);
    tabs->setCurrentIndex(1);  // "Edit & draw": the Segment tool lets go of the canvas
    ASSERT_TRUE(QTest::qWaitFor([&] { return !w->segmentPanel()->isActive(); }, 5000));
  }
  void TearDown() override {
    w.reset();
    unsetenv("SETOK_MODELS_DIR");
  }
  void open(const QString& path) {
    QSignalSpy shown(w.get(), &MainWindow::tokensShown);
    QString err;
    ASSERT_TRUE(w->loadImage(path, &err)) << err.toStdString();
    ASSERT_TRUE(shown.wait(60000)) << "no tokens on screen";
  }
  // Runs the panel's request to its end.
  void finish() {
    ASSERT_TRUE(QTest::qWaitFor([&] { return !panel->busy(); }, 120000)) << "the edit never ended";
  }
  void fast() {  // the untrained head's settings: no guidance (the bundled model has no null prompt), 2 steps
    panel->findChild<QDoubleSpinBox*>()->setValue(1.0);
  }
  std::unique_ptr<MainWindow> w;
  EditPanel* panel = nullptr;
};

}  // namespace

TEST_F(EditTool, BadInputIsAMessageInThePanel) {
  start();
  panel->preview();
  EXPECT_TRUE(panel->statusIsError());
  EXPECT_TRUE(panel->statusText().contains("image")) << panel->statusText().toStdString();
  open(sample());
  panel->preview();
  EXPECT_TRUE(panel->statusText().contains("instruction")) << panel->statusText().toStdString();
  panel->instructionField()->setText("Remove the cup.");
  panel->selectionOnly()->setChecked(true);
  panel->preview();
  EXPECT_TRUE(panel->statusIsError());
  EXPECT_TRUE(panel->statusText().contains("selected")) << panel->statusText().toStdString();
  panel->selectionOnly()->setChecked(false);
  if (setok::tokenizer::default_setokim_model().empty()) GTEST_SKIP() << "no SeTokim is bundled";
  if (setok::heads::has_diffusion_head(setok::tokenizer::default_setokim_model()))
    GTEST_SKIP() << "the bundled SeTokim can edit";
  panel->preview();
  finish();
  EXPECT_TRUE(panel->statusIsError());
  EXPECT_TRUE(panel->statusText().contains("diffusion head")) << panel->statusText().toStdString();
  EXPECT_FALSE(panel->hasPreview());
  EXPECT_FALSE(panel->acceptButton()->isEnabled());
}

TEST_F(EditTool, DrawPreviewWipeAcceptAndUndo) {
  setok::test::TempDir d;
  const std::string models = models_with_head(d);
  if (models.empty()) GTEST_SKIP() << "no models are bundled";
  setenv("SETOK_MODELS_DIR", models.c_str(), 1);
  start();
  fast();
  // A prompt: the picture opens as the image, not yet saved; Save result writes it.
  panel->promptField()->setText("a red circle in the top left");
  panel->draw();
  finish();
  ASSERT_FALSE(panel->statusIsError()) << panel->statusText().toStdString();
  EXPECT_TRUE(w->windowTitle().contains("not saved")) << w->windowTitle().toStdString();
  EXPECT_EQ(w->canvas()->image().width(), 128);
  QString err;
  EXPECT_TRUE(panel->saveResult(QString::fromStdString(d / "drawn.png"), &err)) << err.toStdString();
  EXPECT_TRUE(fs::exists(d / "drawn.png"));
  // An edit of the sample: of a few instructions the untrained model changes something for at
  // least one; the others are refused in the status line.
  open(sample());
  const QImage original = w->canvas()->image();
  bool previewed = false;
  for (const char* ins : {"Remove the cup.", "Make the cup blue.", "Add a red star.", "Move the cup to the left."}) {
    panel->instructionField()->setText(ins);
    panel->preview();
    finish();
    if (panel->hasPreview()) {
      previewed = true;
      break;
    }
    EXPECT_TRUE(panel->statusText().contains("changes nothing")) << panel->statusText().toStdString();
  }
  ASSERT_TRUE(previewed) << "no instruction changed anything";
  EXPECT_TRUE(panel->statusText().startsWith("Kept")) << panel->statusText().toStdString();
  // The wipe: all after, then all before (the image itself).
  panel->setWipe(0);
  EXPECT_EQ(w->canvas()->image(), original);
  panel->setWipe(100);
  const QImage after = w->canvas()->image();
  EXPECT_EQ(after.size(), original.size());
  const int steps = w->undoStack()->count();
  panel->accept();
  EXPECT_EQ(w->undoStack()->count(), steps + 1);
  EXPECT_FALSE(panel->hasPreview());
  EXPECT_EQ(w->canvas()->image().convertToFormat(QImage::Format_RGB888), after.convertToFormat(QImage::Format_RGB888));
  w->undoStack()->undo();
  EXPECT_EQ(w->canvas()->image().convertToFormat(QImage::Format_RGB888),
            original.convertToFormat(QImage::Format_RGB888));
}
