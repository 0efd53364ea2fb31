#pragma once
// The image canvas: shows the current image, zoom (wheel, Ctrl+=/-), pan (drag), fit (Ctrl+0),
// and, once the engine has tokenized the image, the token masks as coloured overlays (or a
// density / seed-score heat map), hover highlight, click / shift-click selection and a Dear ImGui
// heads-up display with live statistics, all drawn in the widget's one GL context. A tool
// (ui/canvas_tool.h, e.g. the Segment tool) may take the pointer and draw over the image.
#include <QImage>
#include <QOpenGLWidget>
#include <QPointF>
#include <QSet>
#include <memory>
#include <vector>

#include "core/engine/engine.h"
#include "ui/canvas_tool.h"

namespace setok::ui {

class ImGuiBridge;

class ImageCanvas : public QOpenGLWidget {
  Q_OBJECT
 public:
  enum class Heat { kNone, kDensity, kScore };

  explicit ImageCanvas(QWidget* parent = nullptr);
  ~ImageCanvas() override;

  void setImage(const QImage& image);
  // Other pixels of the same size in the image's place (an edit's preview): the tokens, the selection
  // and the view stay. Ignored when the size differs.
  void showPixels(const QImage& pixels);
  const QImage& image() const { return image_; }
  double zoom() const { return zoom_; }
  QPointF offset() const { return offset_; }
  // Maps a widget position to image pixel coordinates (may be outside the image).
  QPointF widgetToImage(const QPointF& p) const;
  QPointF imageToWidget(const QPointF& p) const { return offset_ + p * zoom_; }

  // The tokens over the current image; null clears them. Kept until the next result.
  void setTokens(std::shared_ptr<const engine::TokenizeResult> tokens);
  const engine::TokenizeResult* tokens() const { return tokens_.get(); }
  // The token under a widget position, -1 outside the image or without tokens.
  int tokenAt(const QPointF& widgetPos) const;
  int hoveredToken() const { return hovered_; }
  void setSelection(const QSet<int>& tokens);
  const QSet<int>& selection() const { return selection_; }
  // A weight per cell of a grid_h × grid_w patch grid over the whole image (0..1, row-major),
  // drawn as a yellow wash over the image and under nothing else: what a chat answer attended to.
  // An empty vector clears it.
  void setHighlight(const std::vector<float>& weights, int grid_h, int grid_w);
  bool hasHighlight() const { return !highlight_.empty(); }

  float opacity() const { return opacity_; }
  bool outline() const { return outline_; }
  Heat heat() const { return heat_; }
  bool hudVisible() const { return hud_; }
  // Draws the tokens' reconstruction (the detokenizer's picture, stretched over the image) in
  // place of the image, under the same overlays, when the tokens on screen carry one.
  void setShowReconstruction(bool on);
  bool showReconstruction() const { return showReconstruction_; }
  // Whether the canvas draws a reconstruction rather than the image (shown, and the tokens carry one).
  bool drawingReconstruction() const { return showReconstruction_ && !reconstruction_.isNull(); }
  // Shown in the HUD: the last parameter change's round trip as the user saw it.
  void setLatency(double ms) { latencyMs_ = ms; }
  ImGuiBridge* imgui() const { return imgui_; }
  // Where "fit to window" puts an image: the whole canvas, unless the image would run under the
  // heads-up display (size `hud`, at the top right, `margin` from the edges); then the part left of
  // it or below it, whichever holds the larger image. (Where that costs more than a fifth of the
  // image's size, the canvas folds the display to its title bar first.)
  static QRectF fitArea(const QSizeF& canvas, const QSizeF& image, const QSizeF& hud, double margin);
  // Where the heads-up display and the image are on the widget (the display's as last drawn;
  // empty when hidden or not drawn yet).
  QRectF hudRect() const;
  QRectF imageRect() const;
  bool hudCollapsed() const { return hudCollapsed_; }
  // The tool that gets the pointer and keys first (null: none). The caller owns it and takes it
  // off before it goes.
  void setTool(CanvasTool* tool);
  CanvasTool* tool() const { return tool_; }

 public Q_SLOTS:
  void zoomIn();
  void zoomOut();
  void fitToWindow();
  void actualSize();
  void setOpacity(float opacity);
  void setOutline(bool outline);
  void setHeat(setok::ui::ImageCanvas::Heat heat);
  void setHudVisible(bool visible);

 Q_SIGNALS:
  void zoomChanged(double zoom);
  void filesDropped(const QStringList& paths);
  void tokenHovered(int token);                 // -1 when the pointer leaves every token
  void tokenClicked(int token, bool additive);  // additive: shift held; token -1: clicked off the tokens
  void heatChanged(setok::ui::ImageCanvas::Heat heat);
  void overlayPainted();  // a frame with the current tokens reached the screen

 protected:
  void initializeGL() override;
  void paintGL() override;
  void resizeGL(int w, int h) override;
  void resizeEvent(QResizeEvent* e) override;
  bool event(QEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void leaveEvent(QEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  void zoomAround(double factor, const QPointF& anchor);
  void paintTokens(class QPainter& p);
  // Pixel-edge results (TokenizeResult::pixel_edges): fills and edges drawn from the per-pixel map,
  // rebuilt when the tokens, opacity, outline, hover or selection change.
  void paintPixelTokens(class QPainter& p);
  void paintHud();
  void paintHudLines();
  void noteHudGeometry(bool collapsed, const QSizeF& size, double titleHeight);
  static constexpr double kHudMargin = 10;
  QRectF cellRect(int gy, int gx) const;  // in image pixels
  void updateHover(const QPointF& pos);

  QImage image_;
  QImage reconstruction_;  // tokens_'s reconstruction, null when it has none
  bool showReconstruction_ = false;
  std::vector<float> highlight_;
  int highlightH_ = 0, highlightW_ = 0;
  double zoom_ = 1.0;
  QPointF offset_;  // widget position of the image's top-left corner
  bool fit_ = true;
  bool dragging_ = false, moved_ = false;
  QPointF dragStart_, offsetStart_;

  std::shared_ptr<const engine::TokenizeResult> tokens_;
  // First image row / column of every patch row / column (+ the end), as upsample_token_map maps
  // them, so cells drawn as rectangles cover exactly the pixels the token map gives them.
  std::vector<int> rowStart_, colStart_;
  std::vector<float> areaHist_;
  QImage layer_;
  const void* layerTokens_ = nullptr;
  float layerOpacity_ = -1;
  bool layerOutline_ = false;
  int layerHover_ = -2;
  QSet<int> layerSelection_;
  QSet<int> selection_;
  int hovered_ = -1;
  float opacity_ = 0.45f;
  bool outline_ = true;
  Heat heat_ = Heat::kNone;
  bool hud_ = true;
  QSizeF hudSize_;      // the heads-up display's size when last drawn (empty before)
  QSizeF hudExpanded_;  // its size when last drawn open
  double hudTitleHeight_ = 20;
  bool hudCollapsed_ = false;        // folded to its title bar, as last drawn
  bool hudCollapseWanted_ = false;   // what the next frame asks ImGui for
  bool hudUserFolded_ = false;       // the user folded or opened it: the fit no longer decides
  const void* hudTokens_ = nullptr;  // what its last frame showed
  double hudLatencyMs_ = 0;
  double latencyMs_ = 0;
  ImGuiBridge* imgui_ = nullptr;
  CanvasTool* tool_ = nullptr;
};

}  // namespace setok::ui
