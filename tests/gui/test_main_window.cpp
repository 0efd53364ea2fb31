// The studio shell: panels, opening images (good and bad), recent files, zoom and pan, drops.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QDockWidget>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QTest>
#include <QTimer>
#include <QUrl>
#include <QWheelEvent>

#include <ATen/ATen.h>

#include <QSignalSpy>

#include "core/engine/engine.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_overlay.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"
#include "ui/comparison_view.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/tokens_panel.h"

using setok::ui::MainWindow;

namespace {
QString sample() { return QString(SETOK_SAMPLES) + "/coffee.png"; }

// Closes the next modal message box and returns its text through *text.
void close_next_message_box(QString* text) {
  QTimer::singleShot(200, [text] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      *text = box->text();
      box->accept();
    }
  });
}

struct Shell : ::testing::Test {
  void SetUp() override {
    QSettings().clear();
    w.resize(1100, 750);
    w.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&w));
  }
  MainWindow w;
};
}  // namespace

TEST_F(Shell, HasTheFivePanelsSayingWhatWillBeThere) {
  for (const char* name : {"Tokens", "Chat", "Edit", "Train", "Models"}) {
    QDockWidget* d = w.panel(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->windowTitle(), name);
    EXPECT_NE(d->widget(), nullptr) << name;
  }
}

TEST_F(Shell, OpensAnImageAndDrawsIt) {
  QString err;
  ASSERT_TRUE(w.loadImage(sample(), &err)) << err.toStdString();
  EXPECT_EQ(w.canvas()->image().size(), QSize(600, 400));
  EXPECT_TRUE(w.windowTitle().contains("coffee.png"));
  // The image itself, without the token overlay or the HUD (their pixels are checked elsewhere).
  w.canvas()->setOpacity(0.0f);
  w.canvas()->setOutline(false);
  w.canvas()->setHudVisible(false);
  QTest::qWait(50);
  // The canvas shows the image: its centre pixel matches the image's centre pixel.
  QImage shot = w.canvas()->grabFramebuffer();
  QPointF c = w.canvas()->offset() + QPointF(300, 200) * w.canvas()->zoom();
  QColor expect = w.canvas()->image().pixelColor(300, 200);
  QColor got = shot.pixelColor(c.toPoint());
  EXPECT_NEAR(got.red(), expect.red(), 40);
  EXPECT_NEAR(got.green(), expect.green(), 40);
  EXPECT_NEAR(got.blue(), expect.blue(), 40);
}

TEST_F(Shell, BadFilesGiveAOneLineDialogAndKeepTheCurrentImage) {
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  setok::test::TempDir d;
  setok::test::write_bytes(d / "broken.png", "\x89PNG\r\n\x1a\n this is not really a png");
  QString err;
  EXPECT_FALSE(w.loadImage(QString::fromStdString(d / "broken.png"), &err));
  EXPECT_TRUE(err.contains("broken.png")) << err.toStdString();
  EXPECT_FALSE(err.contains('\n'));
  QString shown;
  close_next_message_box(&shown);
  EXPECT_FALSE(w.openImage(QString::fromStdString(d / "missing.jpg")));
  EXPECT_TRUE(shown.contains("missing.jpg")) << "the dialog names the file: " << shown.toStdString();
  EXPECT_EQ(w.currentPath(), sample());
  EXPECT_EQ(w.canvas()->image().size(), QSize(600, 400));
}

TEST_F(Shell, RemembersRecentFilesNewestFirst) {
  QString chelsea = QString(SETOK_SAMPLES) + "/chelsea.png";
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  ASSERT_TRUE(w.loadImage(chelsea, nullptr));
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  QStringList r = w.recentFiles();
  ASSERT_EQ(r.size(), 2);
  EXPECT_TRUE(r[0].endsWith("coffee.png"));
  EXPECT_TRUE(r[1].endsWith("chelsea.png"));
  MainWindow second;  // a new window (a new session) sees the same list
  EXPECT_EQ(second.recentFiles(), r);
  w.clearRecent();
  EXPECT_TRUE(w.recentFiles().isEmpty());
}

TEST_F(Shell, ZoomKeepsThePixelUnderTheCursorAndPanMoves) {
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  auto* c = w.canvas();
  double z0 = c->zoom();
  QPointF at(c->width() * 0.3, c->height() * 0.4);
  QPointF before = c->widgetToImage(at);
  QWheelEvent wheel(at, c->mapToGlobal(at), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                    false);
  QApplication::sendEvent(c, &wheel);
  EXPECT_NEAR(c->zoom(), z0 * 1.25 * 1.25, 1e-9);
  QPointF after = c->widgetToImage(at);
  EXPECT_NEAR(after.x(), before.x(), 1e-6);
  EXPECT_NEAR(after.y(), before.y(), 1e-6);

  QPointF o = c->offset();
  QTest::mousePress(c, Qt::LeftButton, Qt::NoModifier, QPoint(100, 100));
  QTest::mouseMove(c, QPoint(140, 130));
  QTest::mouseRelease(c, Qt::LeftButton, Qt::NoModifier, QPoint(140, 130));
  EXPECT_NEAR(c->offset().x() - o.x(), 40, 1e-6);
  EXPECT_NEAR(c->offset().y() - o.y(), 30, 1e-6);

  c->fitToWindow();
  QTest::qWait(300);  // the display is drawn as the fit left it (open, or folded to its title)
  // Fitted: whole, inside the canvas and clear of the heads-up display, at most the canvas's fit.
  const double full = std::min(c->width() / 600.0, c->height() / 400.0);
  EXPECT_LE(c->zoom(), full + 1e-9);
  EXPECT_TRUE(QRectF(c->rect()).adjusted(-0.5, -0.5, 0.5, 0.5).contains(c->imageRect()));
  EXPECT_FALSE(c->imageRect().intersects(c->hudRect()));
  const double fitted = c->zoom();
  c->zoomIn();
  EXPECT_GT(c->zoom(), fitted);
}

TEST_F(Shell, DroppingAFileOpensIt) {
  auto* c = w.canvas();
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(QString(SETOK_SAMPLES) + "/chelsea.png")});
  QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(c, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(c, &drop);
  EXPECT_TRUE(w.currentPath().endsWith("chelsea.png"));
  EXPECT_EQ(c->image().size(), QSize(451, 300));
}

namespace {

// A second SeTok model folder (the toy world's tiny one): what "Use in inspector" switches to.
std::string tiny_model_folder(const setok::test::TempDir& d) {
  at::manual_seed(3);
  setok::tokenizer::SetokModel m(setok::test::ToyScenes::tiny_model());
  setok::tokenizer::save_setok(d / "tiny", m);
  return d / "tiny";
}

setok::ui::TokenizePtr wait_tokens(MainWindow& w) {
  QSignalSpy shown(&w, &MainWindow::tokensShown);
  if (!shown.wait(60000)) return nullptr;
  return w.currentTokens();
}

}  // namespace

// Switching the inspector's model (the Models panel's "Use in inspector") re-tokenizes the open
// image with it: the canvas and the Tokens panel show the new model's tokens and settings.
TEST_F(Shell, UsingAnotherModelRetokenizesTheOpenImage) {
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  auto first = wait_tokens(w);
  ASSERT_TRUE(first);
  setok::test::TempDir d;
  const QString tiny = QString::fromStdString(tiny_model_folder(d));
  w.openModel(tiny);
  auto second = wait_tokens(w);
  ASSERT_TRUE(second) << "no tokens from the new model";
  EXPECT_EQ(QString::fromStdString(second->model_name), tiny);
  EXPECT_EQ(w.currentTokens(), second);
  EXPECT_EQ(w.tokensPanel()->params().max_tokens, setok::test::ToyScenes::tiny_model().cluster.max_tokens);
}

// Before any image (and after a start file that could not be read) the Tokens panel shows the
// model's own settings, not the spin boxes' minimums.
TEST_F(Shell, TheTokensPanelShowsTheModelsSettingsBeforeAnyImage) {
  setok::test::TempDir d;
  setok::test::write_bytes(d / "bad.png", "not an image");
  EXPECT_FALSE(w.loadImage(QString::fromStdString(d / "bad.png"), nullptr));
  const setok::tokenizer::ClusterParams want = setok::engine::model_cluster_params("");
  const setok::tokenizer::ClusterParams got = w.tokensPanel()->params();
  EXPECT_EQ(got.max_tokens, want.max_tokens);
  EXPECT_EQ(got.knn, want.knn);
  EXPECT_FLOAT_EQ(got.beta, want.beta);
  EXPECT_EQ(got.edge_passes, want.edge_passes);
  EXPECT_GT(got.max_tokens, 1);
}

// The comparison view draws SeTok's and the fixed-K groupings with pixel edges when the Overlay's
// switch is on, as the canvas does.
TEST_F(Shell, CompareFollowsPixelEdges) {
  ASSERT_TRUE(w.loadImage(sample(), nullptr));
  ASSERT_TRUE(wait_tokens(w));
  QSignalSpy compared(&w, &MainWindow::comparisonShown);
  w.tokensPanel()->pixelEdgesBox()->setChecked(true);
  w.setComparing(true);
  ASSERT_TRUE(QTest::qWaitFor(
      [&] {
        const auto* r = w.comparisonView()->result();
        return r && compared.count() > 0 && w.currentTokens() && w.currentTokens()->pixel_edges;
      },
      60000));
  // With pixel edges SeTok's map is the canvas's own pixel-edge map, not whole patches.
  const auto* r = w.comparisonView()->result();
  const auto& t = *w.currentTokens();
  ASSERT_EQ(r->setok_map.size(), t.map.size());
  EXPECT_EQ(r->setok_map, t.map);
  EXPECT_NE(r->setok_map, setok::tokenizer::upsample_token_map(t.grid, t.grid_h, t.grid_w, t.width, t.height));
  w.setComparing(false);
}

// A parameter change, or the Pixel-edges switch, re-tokenizes without moving or rescaling the view.
TEST_F(Shell, TheViewStaysPutOnParameterEdits) {
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/chelsea.png", nullptr));
  ASSERT_TRUE(wait_tokens(w));
  QTest::qWait(300);  // the display has its size
  auto* c = w.canvas();
  const double zoom = c->zoom();
  const QPointF offset = c->offset();
  auto p = w.tokensPanel()->params();
  p.max_tokens = std::max(2, p.max_tokens - 3);
  w.setClusterParams(p);
  ASSERT_TRUE(wait_tokens(w));
  QTest::qWait(300);
  EXPECT_DOUBLE_EQ(c->zoom(), zoom);
  EXPECT_EQ(c->offset(), offset);
  w.tokensPanel()->pixelEdgesBox()->toggle();
  ASSERT_TRUE(wait_tokens(w));
  QTest::qWait(300);
  EXPECT_DOUBLE_EQ(c->zoom(), zoom);
  EXPECT_EQ(c->offset(), offset);
  EXPECT_FALSE(c->imageRect().intersects(c->hudRect()));
}
