#pragma once
// A tool that takes over the canvas's pointer for a while (the Segment tool's clicks, boxes and
// brush): the canvas hands it its mouse and key events first and lets it draw over the image.
// Without a tool, the canvas pans, hovers and selects tokens as it always did.
class QKeyEvent;
class QMouseEvent;
class QPainter;

namespace setok::ui {

class CanvasTool {
 public:
  virtual ~CanvasTool() = default;
  // Each returns true when the tool used the event; the canvas then does nothing with it.
  virtual bool mousePress(QMouseEvent* e) = 0;
  virtual bool mouseMove(QMouseEvent* e) = 0;
  virtual bool mouseRelease(QMouseEvent* e) = 0;
  virtual void leave() {}
  // Keys the tool takes before the window's shortcuts see them (the canvas accepts their
  // ShortcutOverride), and their presses.
  virtual bool wantsKey(const QKeyEvent*) const { return false; }
  virtual bool keyPress(QKeyEvent*) { return false; }
  // Whether the canvas leaves the token overlay out while the tool is on.
  virtual bool hidesTokens() const { return false; }
  // Over the image and its overlays, in widget coordinates.
  virtual void paint(QPainter& p) = 0;
};

}  // namespace setok::ui
