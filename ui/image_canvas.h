#pragma once
// The image canvas: shows the current image, zoom (wheel, Ctrl+=/-), pan (drag), fit (Ctrl+0).
// A QOpenGLWidget, so later overlays and the Dear ImGui HUD draw in the same GL context.
#include <QImage>
#include <QOpenGLWidget>
#include <QPointF>

namespace setok::ui {

class ImageCanvas : public QOpenGLWidget {
  Q_OBJECT
 public:
  explicit ImageCanvas(QWidget* parent = nullptr);

  void setImage(const QImage& image);
  const QImage& image() const { return image_; }
  double zoom() const { return zoom_; }
  QPointF offset() const { return offset_; }
  // Maps a widget position to image pixel coordinates (may be outside the image).
  QPointF widgetToImage(const QPointF& p) const;

 public Q_SLOTS:
  void zoomIn();
  void zoomOut();
  void fitToWindow();
  void actualSize();

 Q_SIGNALS:
  void zoomChanged(double zoom);
  void filesDropped(const QStringList& paths);

 protected:
  void paintGL() override;
  void resizeGL(int w, int h) override;
  void wheelEvent(QWheelEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  void zoomAround(double factor, const QPointF& anchor);
  QImage image_;
  double zoom_ = 1.0;
  QPointF offset_;  // widget position of the image's top-left corner
  bool fit_ = true;
  bool dragging_ = false;
  QPointF dragStart_, offsetStart_;
};

}  // namespace setok::ui
