#include "ui/segment_tool.h"

#include <QColor>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

#include "ui/image_canvas.h"

namespace setok::ui {

namespace {
constexpr double kDragPixels = 4;   // a press that moves further is a drag (a box), not a click
constexpr int kFillAlpha = 80;      // the other masks
constexpr int kCurrentAlpha = 140;  // the current mask
constexpr int kStrokeAlpha = 150;
}  // namespace

SegmentTool::SegmentTool(ImageCanvas* canvas, const edit::MaskDocument* doc, QObject* parent)
    : QObject(parent), canvas_(canvas), doc_(doc) {}

SegmentTool::~SegmentTool() { setActive(false); }

QColor SegmentTool::maskColour(std::uint32_t id) {
  // Golden-angle hues: neighbouring ids far apart, the same colour for a mask every time.
  const double hue = std::fmod(25.0 + (id == 0 ? 0 : id - 1) * 137.508, 360.0);
  return QColor::fromHsvF(static_cast<float>(hue / 360.0), 0.85f, 1.0f);
}

int SegmentTool::historyKey(const QKeyEvent* e) {
  const auto mods = e->modifiers() & (Qt::ControlModifier | Qt::ShiftModifier | Qt::AltModifier | Qt::MetaModifier);
  if (e->key() == Qt::Key_Z && mods == Qt::ControlModifier) return -1;
  if (e->key() == Qt::Key_Z && mods == (Qt::ControlModifier | Qt::ShiftModifier)) return 1;
  if (e->key() == Qt::Key_Y && mods == Qt::ControlModifier) return 1;
  return 0;
}

void SegmentTool::setActive(bool on) {
  if (!canvas_) return;
  button_ = Qt::NoButton;
  boxing_ = false;
  stroke_.clear();
  if (on) {
    canvas_->setTool(this);
    updateCursor();
    return;
  }
  clearPreview();
  if (canvas_->tool() == this) {
    canvas_->setTool(nullptr);
    canvas_->unsetCursor();
  }
}

bool SegmentTool::isActive() const { return canvas_ && canvas_->tool() == this; }

void SegmentTool::setMode(Mode mode) {
  if (mode == mode_) return;
  mode_ = mode;
  button_ = Qt::NoButton;
  boxing_ = false;
  stroke_.clear();
  if (mode_ != Mode::kClick) clearPreview();
  if (isActive()) {
    updateCursor();
    canvas_->update();
  }
}

void SegmentTool::setBrushRadius(float imagePixels) {
  radius_ = std::max(0.5f, imagePixels);
  if (isActive()) canvas_->update();
}

void SegmentTool::setPreview(const std::vector<std::uint8_t>& mask, int width, int height) {
  if (width <= 0 || height <= 0 || mask.size() != static_cast<std::size_t>(width) * height) {
    clearPreview();
    return;
  }
  preview_ = QImage(width, height, QImage::Format_ARGB32);
  const QRgb fill = qRgba(90, 200, 255, 110), edge = qRgba(235, 250, 255, 230), none = qRgba(0, 0, 0, 0);
  auto at = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < width && y < height && mask[static_cast<std::size_t>(y) * width + x];
  };
  for (int y = 0; y < height; ++y) {
    auto* row = reinterpret_cast<QRgb*>(preview_.scanLine(y));
    for (int x = 0; x < width; ++x) {
      if (!at(x, y)) row[x] = none;
      else row[x] = at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1) ? fill : edge;
    }
  }
  if (canvas_) canvas_->update();
}

void SegmentTool::clearPreview() {
  if (preview_.isNull()) return;
  preview_ = QImage();
  if (canvas_) canvas_->update();
}

void SegmentTool::documentChanged() {
  if (isActive()) canvas_->update();
}

QPointF SegmentTool::toImage(const QPointF& widgetPos) const { return canvas_->widgetToImage(widgetPos); }

void SegmentTool::updateCursor() {
  const Qt::CursorShape want = mode_ == Mode::kPickToken ? Qt::PointingHandCursor : Qt::CrossCursor;
  // The canvas resets the cursor after a pan (middle drag): set it again as the pointer moves.
  if (canvas_->cursor().shape() != want) canvas_->setCursor(want);
}

bool SegmentTool::mousePress(QMouseEvent* e) {
  const Qt::MouseButton b = e->button();
  if (b != Qt::LeftButton && b != Qt::RightButton) return false;  // the middle button pans
  if (mode_ == Mode::kPickToken && b != Qt::LeftButton) return false;
  if (button_ != Qt::NoButton) return true;  // another button during a gesture: ignored
  button_ = b;
  pressPos_ = pointer_ = e->position();
  boxing_ = false;
  if (mode_ == Mode::kBrush || mode_ == Mode::kEraser) {
    erasing_ = (mode_ == Mode::kEraser) != (b == Qt::RightButton);  // the right button does the other
    stroke_ = QPolygonF{toImage(pointer_)};
    canvas_->update();
  }
  return true;
}

bool SegmentTool::mouseMove(QMouseEvent* e) {
  pointer_ = e->position();
  pointerInside_ = true;
  updateCursor();
  switch (mode_) {
    case Mode::kPickToken:
      return false;  // the canvas shows the token under the pointer
    case Mode::kBrush:
    case Mode::kEraser: {
      const QPointF p = toImage(pointer_);
      // Points closer than a quarter of the brush add nothing the segments between them miss.
      const double step = std::max(0.5, 0.25 * radius_);
      if (button_ != Qt::NoButton && !stroke_.isEmpty() && QLineF(stroke_.back(), p).length() >= step) stroke_ << p;
      canvas_->update();
      return true;
    }
    case Mode::kClick:
      break;
  }
  if (button_ == Qt::LeftButton && !boxing_ && (pointer_ - pressPos_).manhattanLength() > kDragPixels) boxing_ = true;
  if (boxing_) canvas_->update();
  if (button_ == Qt::NoButton) Q_EMIT hovered(toImage(pointer_));
  return true;
}

bool SegmentTool::mouseRelease(QMouseEvent* e) {
  if (button_ == Qt::NoButton) return false;
  if (e->button() != button_) return true;
  const Qt::MouseButton b = button_;
  button_ = Qt::NoButton;
  const QPointF img = toImage(e->position());
  switch (mode_) {
    case Mode::kBrush:
    case Mode::kEraser: {
      stroke_ << img;
      const QPolygonF path = stroke_;
      stroke_.clear();
      canvas_->update();
      Q_EMIT stroked(path, radius_, erasing_);
      break;
    }
    case Mode::kPickToken:
      if ((e->position() - pressPos_).manhattanLength() <= kDragPixels)
        Q_EMIT tokenPicked(canvas_->tokenAt(e->position()));
      break;
    case Mode::kClick:
      if (boxing_) {
        boxing_ = false;
        canvas_->update();
        Q_EMIT boxDrawn(QRectF(toImage(pressPos_), img).normalized());
      } else {
        Q_EMIT clicked(img, b == Qt::LeftButton);
      }
      break;
  }
  return true;
}

void SegmentTool::leave() {
  pointerInside_ = false;
  if (canvas_) canvas_->update();
  Q_EMIT left();
}

bool SegmentTool::keyPress(QKeyEvent* e) {
  const int k = historyKey(e);
  if (k < 0) Q_EMIT undoRequested();
  else if (k > 0) Q_EMIT redoRequested();
  return k != 0;
}

// Every mask tinted in its colour and outlined; where masks overlap, the later one shows (as the
// index map exports them).
void SegmentTool::rebuildLayer() {
  layerRevision_ = doc_->revision();
  const int W = doc_->width(), H = doc_->height(), n = doc_->count();
  if (n == 0 || W <= 0 || H <= 0) {
    layer_ = QImage();
    return;
  }
  std::vector<std::int32_t> top(static_cast<std::size_t>(W) * H, -1);
  std::vector<QRgb> fill(n), edge(n);
  for (int k = 0; k < n; ++k) {
    const edit::NamedMask& m = doc_->mask(k);
    for (std::size_t p = 0; p < top.size(); ++p)
      if (m.bits[p]) top[p] = k;
    const QColor c = maskColour(m.id);
    fill[k] = qRgba(c.red(), c.green(), c.blue(), k == doc_->current() ? kCurrentAlpha : kFillAlpha);
    edge[k] = qRgba(c.red(), c.green(), c.blue(), 255);
  }
  layer_ = QImage(W, H, QImage::Format_ARGB32);
  auto at = [&](int x, int y) { return x < 0 || y < 0 || x >= W || y >= H ? -1 : top[std::size_t(y) * W + x]; };
  for (int y = 0; y < H; ++y) {
    auto* row = reinterpret_cast<QRgb*>(layer_.scanLine(y));
    for (int x = 0; x < W; ++x) {
      const int k = at(x, y);
      if (k < 0) {
        row[x] = qRgba(0, 0, 0, 0);
        continue;
      }
      const bool boundary = at(x - 1, y) != k || at(x + 1, y) != k || at(x, y - 1) != k || at(x, y + 1) != k;
      row[x] = boundary ? edge[k] : fill[k];
    }
  }
}

void SegmentTool::paint(QPainter& p) {
  if (!canvas_) return;
  if (layerRevision_ != doc_->revision()) rebuildLayer();
  p.save();
  p.translate(canvas_->offset());
  p.scale(canvas_->zoom(), canvas_->zoom());
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  if (!layer_.isNull()) p.drawImage(QRectF(0, 0, layer_.width(), layer_.height()), layer_);
  if (!preview_.isNull()) p.drawImage(QRectF(0, 0, preview_.width(), preview_.height()), preview_);
  p.restore();
  paintStroke(p);
  paintBox(p);
  paintBrushCircle(p);
}

void SegmentTool::paintStroke(QPainter& p) const {
  if (stroke_.isEmpty()) return;
  const edit::NamedMask* cur = doc_->current_mask();
  QColor c = erasing_ ? QColor(20, 20, 20) : maskColour(cur ? cur->id : 0);
  c.setAlpha(kStrokeAlpha);
  const double w = 2.0 * radius_ * canvas_->zoom();
  p.save();
  p.setRenderHint(QPainter::Antialiasing);
  if (stroke_.size() == 1) {
    p.setPen(Qt::NoPen);
    p.setBrush(c);
    p.drawEllipse(canvas_->imageToWidget(stroke_.front()), w / 2, w / 2);
  } else {
    QPainterPath path(canvas_->imageToWidget(stroke_.front()));
    for (int i = 1; i < stroke_.size(); ++i) path.lineTo(canvas_->imageToWidget(stroke_[i]));
    p.setPen(QPen(c, w, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.drawPath(path);
  }
  p.restore();
}

void SegmentTool::paintBox(QPainter& p) const {
  if (!boxing_) return;
  const QRectF r = QRectF(pressPos_, pointer_).normalized();
  p.save();
  p.setBrush(QColor(255, 255, 255, 30));
  p.setPen(QPen(QColor(0, 0, 0, 160), 3));
  p.drawRect(r);
  p.setPen(QPen(Qt::white, 1, Qt::DashLine));
  p.drawRect(r);
  p.restore();
}

void SegmentTool::paintBrushCircle(QPainter& p) const {
  if ((mode_ != Mode::kBrush && mode_ != Mode::kEraser) || !pointerInside_) return;
  const double r = radius_ * canvas_->zoom();
  p.save();
  p.setRenderHint(QPainter::Antialiasing);
  p.setBrush(Qt::NoBrush);
  p.setPen(QPen(QColor(0, 0, 0, 170), 3));
  p.drawEllipse(pointer_, r, r);
  p.setPen(QPen(mode_ == Mode::kEraser ? QColor(255, 120, 120) : QColor(Qt::white), 1));
  p.drawEllipse(pointer_, r, r);
  p.restore();
}

}  // namespace setok::ui
