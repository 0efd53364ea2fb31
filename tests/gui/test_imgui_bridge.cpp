// The Qt → Dear ImGui bridge: Qt's mouse, wheel, leave and resize events reach ImGuiIO, and the
// widget still sees them.
#include <gtest/gtest.h>
#include <imgui.h>

#include <QApplication>
#include <QMouseEvent>
#include <QResizeEvent>
#include <QWheelEvent>
#include <QWidget>
#include <cfloat>

#include "ui/imgui_bridge.h"

namespace {
struct Counting : QWidget {
  int presses = 0;
  void mousePressEvent(QMouseEvent*) override { ++presses; }
};

void send_mouse(QWidget* w, QEvent::Type type, QPointF at, Qt::MouseButton b, Qt::MouseButtons held) {
  QMouseEvent e(type, at, w->mapToGlobal(at), b, held, Qt::NoModifier);
  QApplication::sendEvent(w, &e);
}
}  // namespace

TEST(ImGuiBridge, FeedsQtMouseEventsIntoImGuiIO) {
  Counting w;
  w.resize(300, 200);
  setok::ui::ImGuiBridge bridge(&w);
  ImGuiContext* before = ImGui::GetCurrentContext();
  bridge.makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  ImGui::SetCurrentContext(before);

  send_mouse(&w, QEvent::MouseMove, {10, 20}, Qt::NoButton, Qt::NoButton);
  EXPECT_FLOAT_EQ(io.MousePos.x, 10.0f);
  EXPECT_FLOAT_EQ(io.MousePos.y, 20.0f);
  send_mouse(&w, QEvent::MouseButtonPress, {12, 22}, Qt::LeftButton, Qt::LeftButton);
  EXPECT_TRUE(io.MouseDown[0]);
  EXPECT_FALSE(io.MouseDown[1]);
  EXPECT_FLOAT_EQ(io.MousePos.x, 12.0f);
  EXPECT_EQ(w.presses, 1) << "the widget still gets the event";
  send_mouse(&w, QEvent::MouseButtonPress, {12, 22}, Qt::RightButton, Qt::LeftButton | Qt::RightButton);
  EXPECT_TRUE(io.MouseDown[1]);
  send_mouse(&w, QEvent::MouseButtonRelease, {12, 22}, Qt::LeftButton, Qt::RightButton);
  EXPECT_FALSE(io.MouseDown[0]);
  EXPECT_TRUE(io.MouseDown[1]);

  QWheelEvent wheel(QPointF(12, 22), w.mapToGlobal(QPointF(12, 22)), QPoint(), QPoint(0, 240), Qt::NoButton,
                    Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(&w, &wheel);
  EXPECT_FLOAT_EQ(io.MouseWheel, 2.0f);

  QEvent leave(QEvent::Leave);
  QApplication::sendEvent(&w, &leave);
  EXPECT_EQ(io.MousePos.x, -FLT_MAX);
  EXPECT_FALSE(io.MouseDown[1]) << "buttons are let go when the pointer leaves";

  w.resize(420, 260);
  QResizeEvent resize(QSize(420, 260), QSize(300, 200));
  QApplication::sendEvent(&w, &resize);
  EXPECT_FLOAT_EQ(io.DisplaySize.x, 420.0f);
  EXPECT_FLOAT_EQ(io.DisplaySize.y, 260.0f);
}

TEST(ImGuiBridge, EachWidgetHasItsOwnContext) {
  QWidget a, b;
  setok::ui::ImGuiBridge ba(&a), bb(&b);
  EXPECT_NE(ba.context(), bb.context());
  send_mouse(&a, QEvent::MouseMove, {5, 6}, Qt::NoButton, Qt::NoButton);
  bb.makeCurrent();
  EXPECT_NE(ImGui::GetIO().MousePos.x, 5.0f) << "events for one widget stay in its context";
}
