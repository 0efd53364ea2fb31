#include "ui/imgui_bridge.h"

#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <QElapsedTimer>
#include <QEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QWidget>
#include <cfloat>

namespace setok::ui {
namespace {

int imgui_button(Qt::MouseButton b) {
  switch (b) {
    case Qt::LeftButton:
      return 0;
    case Qt::RightButton:
      return 1;
    case Qt::MiddleButton:
      return 2;
    default:
      return -1;
  }
}

qint64 now_ns() {
  static QElapsedTimer clock = [] {
    QElapsedTimer t;
    t.start();
    return t;
  }();
  return clock.nsecsElapsed();
}

}  // namespace

ImGuiBridge::ImGuiBridge(QWidget* target) : QObject(target), target_(target) {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  ctx_ = ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the HUD's layout is fixed; nothing to remember on disk
  io.LogFilename = nullptr;
  io.DisplaySize = ImVec2(static_cast<float>(target->width()), static_cast<float>(target->height()));
  ImGui::SetCurrentContext(previous ? previous : ctx_);
  // ImGui needs hover positions too; without tracking Qt drops button-less moves.
  target->setMouseTracking(true);
  target->installEventFilter(this);
}

ImGuiBridge::~ImGuiBridge() {
  // The GL side must already be shut down (the widget does it with its context current).
  ImGui::DestroyContext(ctx_);
}

void ImGuiBridge::makeCurrent() const { ImGui::SetCurrentContext(ctx_); }

bool ImGuiBridge::wantsMouse() const {
  makeCurrent();
  return ImGui::GetIO().WantCaptureMouse;
}

bool ImGuiBridge::eventFilter(QObject* watched, QEvent* e) {
  if (watched != target_) return false;
  makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  switch (e->type()) {
    case QEvent::MouseMove:
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonRelease:
    case QEvent::MouseButtonDblClick: {
      auto* m = static_cast<QMouseEvent*>(e);
      io.MousePos = ImVec2(static_cast<float>(m->position().x()), static_cast<float>(m->position().y()));
      const int b = imgui_button(m->button());
      if (b >= 0 && e->type() != QEvent::MouseMove) io.MouseDown[b] = e->type() != QEvent::MouseButtonRelease;
      target_->update();  // ImGui reacts on the next frame
      break;
    }
    case QEvent::Wheel: {
      auto* w = static_cast<QWheelEvent*>(e);
      io.MouseWheel += w->angleDelta().y() / 120.0f;
      io.MouseWheelH += w->angleDelta().x() / 120.0f;
      target_->update();
      break;
    }
    case QEvent::Leave:
      io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      for (bool& d : io.MouseDown) d = false;
      target_->update();
      break;
    case QEvent::Resize:
      io.DisplaySize = ImVec2(static_cast<float>(target_->width()), static_cast<float>(target_->height()));
      break;
    default:
      break;
  }
  return false;  // the widget still sees every event
}

bool ImGuiBridge::initGL() {
  makeCurrent();
  // GLSL 1.30: what Mesa's software renderer and every desktop driver offer in a compatibility
  // context, which is what QOpenGLWidget asks for by default.
  gl_ = ImGui_ImplOpenGL3_Init("#version 130");
  return gl_;
}

void ImGuiBridge::shutdownGL() {
  if (!gl_) return;
  makeCurrent();
  ImGui_ImplOpenGL3_Shutdown();
  gl_ = false;
}

void ImGuiBridge::newFrame() {
  makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(static_cast<float>(target_->width()), static_cast<float>(target_->height()));
  const float dpr = static_cast<float>(target_->devicePixelRatioF());
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);
  const qint64 t = now_ns();
  io.DeltaTime = lastFrameNs_ ? std::max(1e-4f, static_cast<float>((t - lastFrameNs_) * 1e-9)) : 1.0f / 60.0f;
  lastFrameNs_ = t;
  if (gl_) ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
}

void ImGuiBridge::render() {
  makeCurrent();
  ImGui::Render();
  if (gl_) ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

}  // namespace setok::ui
