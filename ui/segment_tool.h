#pragma once
// The Segment tool on the canvas: what the pointer does there (Click: left click adds, right click
// removes, a left drag draws a box; Brush and Eraser: a round brush along the drag; Start from
// token: a click takes the SeTok token under it), and what the canvas shows for it: every named
// mask tinted in its colour with its outline (the current one stronger), the decoder's preview
// under the pointer, the stroke being drawn, the box being dragged and the brush's circle. It only
// reports what the user did, in image pixel coordinates; the panel decides what that means.
#include <QImage>
#include <QObject>
#include <QPointF>
#include <QPointer>
#include <QPolygonF>
#include <QRectF>
#include <cstdint>
#include <vector>

#include "core/edit/mask_document.h"
#include "ui/canvas_tool.h"

class QColor;

namespace setok::ui {

class ImageCanvas;

class SegmentTool : public QObject, public CanvasTool {
  Q_OBJECT
 public:
  enum class Mode { kClick, kBrush, kEraser, kPickToken };

  // Draws `doc` (which must outlive the tool) on `canvas`.
  SegmentTool(ImageCanvas* canvas, const edit::MaskDocument* doc, QObject* parent = nullptr);
  ~SegmentTool() override;

  // On: the canvas hands the tool its pointer; off: the canvas is as before.
  void setActive(bool on);
  bool isActive() const;
  void setMode(Mode mode);
  Mode mode() const { return mode_; }
  void setBrushRadius(float imagePixels);
  float brushRadius() const { return radius_; }
  // The decoder's mask for a click under the pointer (0/1, width × height), drawn faintly until
  // cleared; a mask of another size clears it.
  void setPreview(const std::vector<std::uint8_t>& mask, int width, int height);
  void clearPreview();
  bool hasPreview() const { return !preview_.isNull(); }
  // The document changed: the canvas repaints (the masks' layer is rebuilt on the next frame).
  void documentChanged();
  // The colour of the mask with this id, on the canvas and in the panel's list.
  static QColor maskColour(std::uint32_t id);
  // -1 for Ctrl+Z (undo), +1 for Ctrl+Shift+Z or Ctrl+Y (redo), 0 for any other key.
  static int historyKey(const QKeyEvent* e);

  bool mousePress(QMouseEvent* e) override;
  bool mouseMove(QMouseEvent* e) override;
  bool mouseRelease(QMouseEvent* e) override;
  void leave() override;
  bool wantsKey(const QKeyEvent* e) const override { return historyKey(e) != 0; }
  bool keyPress(QKeyEvent* e) override;
  bool hidesTokens() const override { return mode_ != Mode::kPickToken; }
  void paint(QPainter& p) override;

 Q_SIGNALS:
  void hovered(const QPointF& imagePos);  // Click mode, no button held
  void clicked(const QPointF& imagePos, bool positive);
  void boxDrawn(const QRectF& imageRect);
  void stroked(const QPolygonF& imagePath, float radius, bool erase);
  void tokenPicked(int token);  // -1: the click was on no token
  void left();                  // the pointer left the canvas
  void undoRequested();
  void redoRequested();

 private:
  QPointF toImage(const QPointF& widgetPos) const;
  void updateCursor();
  void rebuildLayer();
  void paintStroke(QPainter& p) const;
  void paintBrushCircle(QPainter& p) const;
  void paintBox(QPainter& p) const;

  QPointer<ImageCanvas> canvas_;
  const edit::MaskDocument* doc_;
  Mode mode_ = Mode::kClick;
  float radius_ = 12;
  Qt::MouseButton button_ = Qt::NoButton;  // the button of the gesture under way
  QPointF pressPos_, pointer_;             // widget coordinates
  bool pointerInside_ = false;
  bool boxing_ = false;
  bool erasing_ = false;
  QPolygonF stroke_;  // image coordinates
  QImage layer_;      // the document's masks at image resolution
  std::uint64_t layerRevision_ = ~std::uint64_t{0};
  QImage preview_;
};

}  // namespace setok::ui
