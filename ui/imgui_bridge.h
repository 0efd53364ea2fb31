#pragma once
// A small Qt → Dear ImGui bridge of our own: one ImGui context per widget, fed with the widget's
// mouse position, buttons, wheel and size from Qt events (an event filter), and drawn with
// ImGui's OpenGL3 backend in the widget's GL context. Keyboard input is not needed by the HUD.
#include <QObject>
#include <QSize>

struct ImGuiContext;
class QWidget;

namespace setok::ui {

class ImGuiBridge : public QObject {
 public:
  explicit ImGuiBridge(QWidget* target);
  ~ImGuiBridge() override;

  ImGuiContext* context() const { return ctx_; }
  // Makes this bridge's context ImGui's current one (ImGui keeps a global current context).
  void makeCurrent() const;
  // True when the pointer is over an ImGui window: the widget should not act on the click.
  bool wantsMouse() const;

  // With the widget's GL context current. initGL once per context; shutdownGL before it goes.
  bool initGL();
  void shutdownGL();
  bool glReady() const { return gl_; }
  // Starts a frame (display size, DPI scale, time step), then the caller issues ImGui calls,
  // then render() draws them.
  void newFrame();
  void render();

 protected:
  bool eventFilter(QObject* watched, QEvent* e) override;

 private:
  QWidget* target_;
  ImGuiContext* ctx_ = nullptr;
  bool gl_ = false;
  qint64 lastFrameNs_ = 0;
};

}  // namespace setok::ui
