// The studio's layout at the sizes people use: the smallest window (937 × 654), the default
// (1280 × 800) and a full-HD screen. On a first run (no saved settings), an image opens whole,
// inside the canvas and clear of the heads-up display, and every Train panel button shows whole.
#include <gtest/gtest.h>

#include <QChartView>
#include <QDockWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <string>

#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/train_panel.h"

using setok::ui::MainWindow;

namespace {

struct Size {
  int w, h;
};

class StudioLayout : public ::testing::TestWithParam<Size> {};

// Shown whole: inside every parent up to the window, and not squeezed below what its text needs.
void expect_whole(QWidget* b) {
  SCOPED_TRACE(b->objectName().toStdString() + " '" + b->property("text").toString().toStdString() + "'");
  EXPECT_TRUE(b->isVisible());
  EXPECT_EQ(b->visibleRegion().boundingRect(), b->rect());
  EXPECT_GE(b->width(), b->minimumSizeHint().width());
}

}  // namespace

TEST_P(StudioLayout, TheImageOpensWholeAndTheTrainPanelFits) {
  const Size size = GetParam();
  MainWindow w;
  w.resize(size.w, size.h);
  w.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&w));
  EXPECT_EQ(w.size(), QSize(size.w, size.h)) << "the window is the size asked for";

  for (const char* image : {"coffee.png", "chelsea.png"}) {
    SCOPED_TRACE(image);
    QSignalSpy shown(&w, &MainWindow::tokensShown);
    ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/" + image, nullptr));
    ASSERT_TRUE(shown.wait(60000));
    QTest::qWait(300);  // the display's size settles, and the fit with it
    setok::ui::ImageCanvas* c = w.canvas();
    const QRectF img = c->imageRect();
    EXPECT_TRUE(QRectF(c->rect()).adjusted(-0.5, -0.5, 0.5, 0.5).contains(img))
        << "image " << img.x() << "," << img.y() << " " << img.width() << "x" << img.height() << " in canvas "
        << c->width() << "x" << c->height();
    EXPECT_FALSE(img.intersects(c->hudRect())) << "the heads-up display covers the image";
    EXPECT_GT(img.width() * img.height(), 0.3 * c->width() * c->height()) << "the image is too small to use";
  }

  setok::ui::TrainPanel* train = w.trainPanel();
  ASSERT_TRUE(train->isVisible());
  // The run's buttons and the config menu: always on screen, whole.
  int buttons = 0;
  for (QPushButton* b : train->findChildren<QPushButton*>())
    if (b->objectName().startsWith("train")) expect_whole(b), ++buttons;
  EXPECT_EQ(buttons, 6);
  auto* chart = train->findChild<QChartView*>("trainLossView");
  ASSERT_NE(chart, nullptr);
  EXPECT_GE(chart->height(), 150) << "the loss chart has room for its axes' numbers";
  EXPECT_GE(chart->width(), 360);
}

INSTANTIATE_TEST_SUITE_P(Sizes, StudioLayout, ::testing::Values(Size{937, 654}, Size{1280, 800}, Size{1920, 1080}),
                         [](const ::testing::TestParamInfo<Size>& i) {
                           return std::to_string(i.param.w) + "x" + std::to_string(i.param.h);
                         });
