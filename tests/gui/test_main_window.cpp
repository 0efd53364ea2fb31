// The studio shell: panels, opening images (good and bad), recent files, zoom and pan, drops.
#include <gtest/gtest.h>

#include <QApplication>
#include <QDockWidget>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QTest>
#include <QTimer>
#include <QUrl>
#include <QWheelEvent>

#include "tests/support/temp_dir.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"

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
  EXPECT_NEAR(c->zoom(), std::min(c->width() / 600.0, c->height() / 400.0), 1e-9);
  c->zoomIn();
  EXPECT_GT(c->zoom(), std::min(c->width() / 600.0, c->height() / 400.0));
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
