#include "ui/image_canvas.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

namespace setok::ui {

namespace {
constexpr double kMinZoom = 0.02, kMaxZoom = 64.0, kStep = 1.25;
}

ImageCanvas::ImageCanvas(QWidget* parent) : QOpenGLWidget(parent) {
  setAcceptDrops(true);
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(320, 240);
}

void ImageCanvas::setImage(const QImage& image) {
  image_ = image;
  fit_ = true;
  fitToWindow();
}

QPointF ImageCanvas::widgetToImage(const QPointF& p) const { return (p - offset_) / zoom_; }

void ImageCanvas::fitToWindow() {
  fit_ = true;
  if (!image_.isNull() && width() > 0 && height() > 0) {
    zoom_ = std::clamp(std::min(width() / double(image_.width()), height() / double(image_.height())), kMinZoom, kMaxZoom);
    offset_ = QPointF((width() - image_.width() * zoom_) / 2, (height() - image_.height() * zoom_) / 2);
  }
  Q_EMIT zoomChanged(zoom_);
  update();
}

void ImageCanvas::actualSize() {
  zoomAround(1.0 / zoom_, QPointF(width() / 2.0, height() / 2.0));
}

void ImageCanvas::zoomIn() { zoomAround(kStep, QPointF(width() / 2.0, height() / 2.0)); }
void ImageCanvas::zoomOut() { zoomAround(1.0 / kStep, QPointF(width() / 2.0, height() / 2.0)); }

void ImageCanvas::zoomAround(double factor, const QPointF& anchor) {
  if (image_.isNull()) return;
  double z = std::clamp(zoom_ * factor, kMinZoom, kMaxZoom);
  QPointF img = widgetToImage(anchor);  // keep the pixel under the anchor in place
  zoom_ = z;
  offset_ = anchor - img * zoom_;
  fit_ = false;
  Q_EMIT zoomChanged(zoom_);
  update();
}

void ImageCanvas::paintGL() {
  QPainter p(this);
  p.fillRect(rect(), palette().color(QPalette::Base).darker(115));
  if (image_.isNull()) {
    p.setPen(palette().color(QPalette::Text));
    p.drawText(rect(), Qt::AlignCenter, tr("Open an image (Ctrl+O) or drop one here"));
    return;
  }
  p.setRenderHint(QPainter::SmoothPixmapTransform, zoom_ < 2.0);
  p.drawImage(QRectF(offset_, QSizeF(image_.width() * zoom_, image_.height() * zoom_)), image_);
}

void ImageCanvas::resizeGL(int, int) {
  if (fit_) fitToWindow();
}

void ImageCanvas::wheelEvent(QWheelEvent* e) {
  double steps = e->angleDelta().y() / 120.0;
  if (steps != 0) zoomAround(std::pow(kStep, steps), e->position());
  e->accept();
}

void ImageCanvas::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton || e->button() == Qt::MiddleButton) {
    dragging_ = true;
    dragStart_ = e->position();
    offsetStart_ = offset_;
    setCursor(Qt::ClosedHandCursor);
  }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* e) {
  if (dragging_) {
    offset_ = offsetStart_ + (e->position() - dragStart_);
    fit_ = false;
    update();
  }
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent*) {
  dragging_ = false;
  unsetCursor();
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent*) { fitToWindow(); }

void ImageCanvas::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void ImageCanvas::dropEvent(QDropEvent* e) {
  QStringList paths;
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) paths << u.toLocalFile();
  if (!paths.isEmpty()) {
    Q_EMIT filesDropped(paths);
    e->acceptProposedAction();
  }
}

}  // namespace setok::ui
