#include "ui/image_canvas.h"

#include <imgui.h>

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QKeyEvent>
#include <QMimeData>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "ui/imgui_bridge.h"

namespace setok::ui {

namespace {
constexpr double kMinZoom = 0.02, kMaxZoom = 64.0, kStep = 1.25;
constexpr int kHistBins = 12;

QColor qcolour(const tokenizer::Rgb& c, float alpha) {
  return QColor(c.r, c.g, c.b, std::clamp(static_cast<int>(std::lround(alpha * 255)), 0, 255));
}

// Blue (low) through green and yellow to red (high): a heat map that reads without a legend.
QColor heat_colour(float v, float alpha) {
  return QColor::fromHsvF(std::clamp((1.0f - v) * 240.0f / 360.0f, 0.0f, 1.0f), 0.9f, 1.0f, alpha);
}

// The first pixel of every cell along one axis, with upsample_token_map's rounding.
std::vector<int> cell_starts(int cells, int pixels) {
  std::vector<int> start(cells + 1, pixels);
  for (int p = pixels - 1; p >= 0; --p) {
    int c = std::min(cells - 1, static_cast<int>((p + 0.5) * cells / pixels));
    start[c] = p;
  }
  for (int c = cells - 1; c >= 0; --c) start[c] = std::min(start[c], start[c + 1]);  // empty cells
  return start;
}

}  // namespace

ImageCanvas::ImageCanvas(QWidget* parent) : QOpenGLWidget(parent) {
  setAcceptDrops(true);
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(320, 240);
  imgui_ = new ImGuiBridge(this);
}

ImageCanvas::~ImageCanvas() {
  // ~QOpenGLWidget destroys the context after this body: its aboutToBeDestroyed must not reach a
  // canvas that is half gone (UBSan's report).
  if (context()) disconnect(context(), nullptr, this, nullptr);
  if (imgui_->glReady() && context()) {
    makeCurrent();
    imgui_->shutdownGL();
    doneCurrent();
  }
}

void ImageCanvas::initializeGL() {
  // A QOpenGLWidget's context is recreated when the widget moves to another top-level window:
  // ImGui's GL objects go with the old one.
  connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] {
    makeCurrent();
    imgui_->shutdownGL();
    doneCurrent();
  });
  imgui_->initGL();
}

void ImageCanvas::setImage(const QImage& image) {
  image_ = image;
  tokens_.reset();
  selection_.clear();
  hovered_ = -1;
  fit_ = true;
  hudUserFolded_ = false;  // a new image opens whole: the display folds again if it must
  fitToWindow();
}

void ImageCanvas::showPixels(const QImage& pixels) {
  if (pixels.size() != image_.size()) return;
  image_ = pixels;
  update();
}

void ImageCanvas::setTool(CanvasTool* tool) {
  if (tool == tool_) return;
  tool_ = tool;
  dragging_ = false;
  update();
}

void ImageCanvas::setShowReconstruction(bool on) {
  showReconstruction_ = on;
  update();
}

void ImageCanvas::setTokens(std::shared_ptr<const engine::TokenizeResult> tokens) {
  tokens_ = std::move(tokens);
  if (tokens_ && (!tokens_->ok() || tokens_->width != image_.width() || tokens_->height != image_.height()))
    tokens_.reset();  // a result for another image (or a failed one) is never drawn
  reconstruction_ = QImage();
  if (tokens_ && !tokens_->reconstruction.empty()) {
    const io::Image& r = tokens_->reconstruction;
    reconstruction_ = QImage(r.rgb.data(), r.width, r.height, r.width * 3, QImage::Format_RGB888).copy();
  }
  hovered_ = -1;
  areaHist_.assign(kHistBins, 0.0f);
  if (tokens_) {
    rowStart_ = cell_starts(tokens_->grid_h, tokens_->height);
    colStart_ = cell_starts(tokens_->grid_w, tokens_->width);
    const double total = static_cast<double>(tokens_->width) * tokens_->height;
    double maxFrac = 0;
    for (const auto& t : tokens_->tokens) maxFrac = std::max(maxFrac, t.stat.area / total);
    for (const auto& t : tokens_->tokens) {
      if (t.stat.area == 0) continue;
      int bin = maxFrac > 0 ? std::min(kHistBins - 1, static_cast<int>(t.stat.area / total / maxFrac * kHistBins)) : 0;
      areaHist_[bin] += 1;
    }
    QSet<int> kept;
    for (int s : selection_)
      if (s < static_cast<int>(tokens_->tokens.size())) kept.insert(s);
    selection_ = kept;
  }
  update();
}

int ImageCanvas::tokenAt(const QPointF& widgetPos) const {
  if (!tokens_) return -1;
  QPointF p = widgetToImage(widgetPos);
  const int x = static_cast<int>(std::floor(p.x())), y = static_cast<int>(std::floor(p.y()));
  if (x < 0 || y < 0 || x >= tokens_->width || y >= tokens_->height) return -1;
  return tokens_->map[static_cast<std::size_t>(y) * tokens_->width + x];
}

void ImageCanvas::setSelection(const QSet<int>& tokens) {
  selection_ = tokens;
  update();
}

void ImageCanvas::setOpacity(float opacity) {
  opacity_ = std::clamp(opacity, 0.0f, 1.0f);
  update();
}

void ImageCanvas::setOutline(bool outline) {
  outline_ = outline;
  update();
}

void ImageCanvas::setHeat(Heat heat) {
  if (heat_ == heat) return;
  heat_ = heat;
  Q_EMIT heatChanged(heat);
  update();
}

void ImageCanvas::setHudVisible(bool visible) {
  hud_ = visible;
  if (fit_) fitToWindow();
  update();
}

QPointF ImageCanvas::widgetToImage(const QPointF& p) const { return (p - offset_) / zoom_; }

void ImageCanvas::fitToWindow() {
  fit_ = true;
  if (!image_.isNull() && width() > 0 && height() > 0) {
    const QSizeF canvas(width(), height()), image(image_.width(), image_.height());
    // Where keeping clear of the open display would cost the image more than a fifth of its size,
    // the display folds to its title bar instead (unless the user folded or opened it).
    if (hud_ && !hudUserFolded_ && !hudExpanded_.isEmpty()) {
      const double full = std::min(canvas.width() / image.width(), canvas.height() / image.height());
      const QRectF beside = fitArea(canvas, image, hudExpanded_, kHudMargin);
      hudCollapseWanted_ = std::min(beside.width() / image.width(), beside.height() / image.height()) < 0.8 * full;
    }
    const QSizeF hud = !hud_ ? QSizeF()
                       : hudCollapseWanted_
                           ? QSizeF(hudExpanded_.isEmpty() ? hudSize_.width() : hudExpanded_.width(), hudTitleHeight_)
                           : (hudExpanded_.isEmpty() ? hudSize_ : hudExpanded_);
    const QRectF area = fitArea(canvas, image, hud, kHudMargin);
    zoom_ = std::clamp(std::min(area.width() / image_.width(), area.height() / image_.height()), kMinZoom, kMaxZoom);
    offset_ = area.center() - QPointF(image_.width() * zoom_, image_.height() * zoom_) / 2;
  }
  Q_EMIT zoomChanged(zoom_);
  update();
}

QRectF ImageCanvas::fitArea(const QSizeF& canvas, const QSizeF& image, const QSizeF& hud, double margin) {
  const QRectF whole(QPointF(0, 0), canvas);
  if (hud.isEmpty() || image.isEmpty()) return whole;
  auto fitted = [&](const QRectF& a) {
    const double z = std::min(a.width() / image.width(), a.height() / image.height());
    return QRectF(a.center() - QPointF(image.width() * z, image.height() * z) / 2, image * z);
  };
  // The heads-up display sits at the top right; the image keeps the whole canvas when it stays clear.
  const QRectF hudRect(canvas.width() - margin - hud.width(), margin, hud.width(), hud.height());
  if (!fitted(whole).intersects(hudRect)) return whole;
  // Else beside it or below it, whichever leaves the image larger: the display never covers it.
  const QRectF left(0, 0, std::max(0.0, hudRect.left() - margin), canvas.height());
  const QRectF below(0, hudRect.bottom() + margin, canvas.width(),
                     std::max(0.0, canvas.height() - hudRect.bottom() - margin));
  return fitted(left).width() >= fitted(below).width() ? left : below;
}

QRectF ImageCanvas::hudRect() const {
  if (!hud_ || hudSize_.isEmpty()) return {};
  return QRectF(width() - kHudMargin - hudSize_.width(), kHudMargin, hudSize_.width(), hudSize_.height());
}

QRectF ImageCanvas::imageRect() const {
  return QRectF(offset_, QSizeF(image_.width() * zoom_, image_.height() * zoom_));
}

void ImageCanvas::actualSize() { zoomAround(1.0 / zoom_, QPointF(width() / 2.0, height() / 2.0)); }

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

void ImageCanvas::setHighlight(const std::vector<float>& weights, int grid_h, int grid_w) {
  if (weights.empty() || grid_h <= 0 || grid_w <= 0 || weights.size() != static_cast<std::size_t>(grid_h) * grid_w) {
    highlight_.clear();
  } else {
    highlight_ = weights;
    highlightH_ = grid_h;
    highlightW_ = grid_w;
  }
  update();
}

QRectF ImageCanvas::cellRect(int gy, int gx) const {
  return QRectF(colStart_[gx], rowStart_[gy], colStart_[gx + 1] - colStart_[gx], rowStart_[gy + 1] - rowStart_[gy]);
}

// Everything is drawn per patch cell (a few hundred rectangles), never per pixel, so a repaint
// costs the same for a phone photo as for a thumbnail.
void ImageCanvas::paintPixelTokens(QPainter& p) {
  const auto& t = *tokens_;
  const int W = t.width, H = t.height;
  if (layerTokens_ != tokens_.get() || layerOpacity_ != opacity_ || layerOutline_ != outline_ ||
      layerHover_ != hovered_ || layerSelection_ != selection_ || layer_.isNull()) {
    const int n = static_cast<int>(t.tokens.size());
    std::vector<QRgb> fill(n), lit(n);
    for (int k = 0; k < n; ++k) {
      const auto& c = t.tokens[k].stat.colour;
      fill[k] = qRgba(c.r, c.g, c.b, qRound(255 * opacity_));
      lit[k] = qRgba(c.r, c.g, c.b, qRound(255 * std::min(1.0f, opacity_ + 0.3f)));
    }
    const QRgb edge = qRgba(255, 255, 255, 190), hover = qRgba(255, 255, 255, 255);
    const QColor hl = palette().color(QPalette::Highlight);
    const QRgb sel = qRgba(hl.red(), hl.green(), hl.blue(), 255);
    layer_ = QImage(W, H, QImage::Format_ARGB32);
    auto at = [&](int x, int y) { return t.map[static_cast<std::size_t>(y) * W + x]; };
    for (int y = 0; y < H; ++y) {
      auto* row = reinterpret_cast<QRgb*>(layer_.scanLine(y));
      for (int x = 0; x < W; ++x) {
        const int k = at(x, y);
        if (k < 0 || k >= n) {
          row[x] = qRgba(0, 0, 0, 0);
          continue;
        }
        const bool isLit = k == hovered_ || selection_.contains(k);
        // A pixel on a boundary: a 4-neighbour (or the image border, for lit tokens) differs.
        bool boundary = false;
        for (auto [dx, dy] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H) {
            if (isLit) boundary = true;
            continue;
          }
          if (at(xx, yy) != k) boundary = true;
        }
        QRgb c = isLit ? lit[k] : fill[k];
        if (boundary && k == hovered_) c = hover;
        else if (boundary && selection_.contains(k)) c = sel;
        else if (boundary && outline_) c = edge;
        row[x] = c;
      }
    }
    layerTokens_ = tokens_.get();
    layerOpacity_ = opacity_;
    layerOutline_ = outline_;
    layerHover_ = hovered_;
    layerSelection_ = selection_;
  }
  p.save();
  p.translate(offset_);
  p.scale(zoom_, zoom_);
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.drawImage(QRectF(0, 0, W, H), layer_);
  p.restore();
}

void ImageCanvas::paintTokens(QPainter& p) {
  const auto& t = *tokens_;
  if (t.pixel_edges && heat_ == Heat::kNone && t.map.size() == static_cast<std::size_t>(t.width) * t.height) {
    paintPixelTokens(p);
    return;
  }
  const int gh = t.grid_h, gw = t.grid_w;
  auto cell = [&](int gy, int gx) { return t.grid[static_cast<std::size_t>(gy) * gw + gx]; };
  p.save();
  p.translate(offset_);
  p.scale(zoom_, zoom_);
  p.setPen(Qt::NoPen);
  float lo = 0, hi = 1;
  const std::vector<float>* heat = heat_ == Heat::kDensity ? &t.density : heat_ == Heat::kScore ? &t.score : nullptr;
  if (heat && !heat->empty()) {
    auto [mn, mx] = std::minmax_element(heat->begin(), heat->end());
    lo = *mn, hi = *mx > *mn ? *mx : *mn + 1;
  }
  for (int gy = 0; gy < gh; ++gy)
    for (int gx = 0; gx < gw; ++gx) {
      const int k = cell(gy, gx);
      const bool lit = k == hovered_ || selection_.contains(k);
      const float a = std::min(1.0f, opacity_ + (lit ? 0.3f : 0.0f));
      QColor c = heat ? heat_colour(((*heat)[static_cast<std::size_t>(gy) * gw + gx] - lo) / (hi - lo), a)
                      : qcolour(t.tokens[k].stat.colour, a);
      p.fillRect(cellRect(gy, gx), c);
    }
  // Boundaries: an edge between two cells is drawn when the predicate tells their sides apart.
  auto edges = [&](const QPen& pen, auto inside, bool borders) {
    p.setPen(pen);
    for (int gy = 0; gy < gh; ++gy)
      for (int gx = 0; gx < gw; ++gx) {
        const bool in = inside(cell(gy, gx));
        const QRectF r = cellRect(gy, gx);
        if (gx + 1 < gw ? in != inside(cell(gy, gx + 1)) : (borders && in)) p.drawLine(r.topRight(), r.bottomRight());
        if (gy + 1 < gh ? in != inside(cell(gy + 1, gx)) : (borders && in)) p.drawLine(r.bottomLeft(), r.bottomRight());
        if (borders && in && gx == 0) p.drawLine(r.topLeft(), r.bottomLeft());
        if (borders && in && gy == 0) p.drawLine(r.topLeft(), r.topRight());
      }
  };
  if (outline_) {
    // Token boundaries: between every pair of neighbouring cells of different tokens.
    QPen pen(QColor(255, 255, 255, 190), 1.0);
    pen.setCosmetic(true);  // one device pixel at any zoom
    p.setPen(pen);
    for (int gy = 0; gy < gh; ++gy)
      for (int gx = 0; gx < gw; ++gx) {
        const QRectF r = cellRect(gy, gx);
        if (gx + 1 < gw && cell(gy, gx) != cell(gy, gx + 1)) p.drawLine(r.topRight(), r.bottomRight());
        if (gy + 1 < gh && cell(gy, gx) != cell(gy + 1, gx)) p.drawLine(r.bottomLeft(), r.bottomRight());
      }
  }
  if (!selection_.isEmpty()) {
    QPen pen(palette().color(QPalette::Highlight), 3.0);
    pen.setCosmetic(true);
    edges(
        pen, [this](int k) { return selection_.contains(k); }, true);
  }
  if (hovered_ >= 0) {
    QPen pen(Qt::white, 2.0, Qt::DashLine);
    pen.setCosmetic(true);
    edges(
        pen, [this](int k) { return k == hovered_; }, true);
  }
  p.restore();
}

void ImageCanvas::paintGL() {
  {
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base).darker(115));
    if (image_.isNull()) {
      p.setPen(palette().color(QPalette::Text));
      p.drawText(rect(), Qt::AlignCenter, tr("Open an image (Ctrl+O) or drop one here"));
    } else {
      p.setRenderHint(QPainter::SmoothPixmapTransform, zoom_ < 2.0);
      p.drawImage(QRectF(offset_, QSizeF(image_.width() * zoom_, image_.height() * zoom_)),
                  drawingReconstruction() ? reconstruction_ : image_);
      if (tokens_ && !(tool_ && tool_->hidesTokens())) paintTokens(p);
      if (!highlight_.empty()) {
        // Own grid (the chat model's patches), spread evenly over the image.
        const double cw = image_.width() * zoom_ / highlightW_, ch = image_.height() * zoom_ / highlightH_;
        p.setPen(Qt::NoPen);
        for (int gy = 0; gy < highlightH_; ++gy)
          for (int gx = 0; gx < highlightW_; ++gx) {
            const float w = highlight_[static_cast<std::size_t>(gy) * highlightW_ + gx];
            if (w <= 0.2f) continue;  // the faint rest would wash out the image
            p.fillRect(QRectF(offset_.x() + gx * cw, offset_.y() + gy * ch, cw, ch),
                       QColor(255, 220, 40, static_cast<int>(200 * w * w)));
          }
      }
      if (tool_) tool_->paint(p);
    }
  }  // the painter ends here, so ImGui draws on top with the GL state QPainter left behind
  if (hud_) paintHud();
  if (tokens_) Q_EMIT overlayPainted();
}

void ImageCanvas::paintHud() {
  if (!imgui_->glReady()) return;
  imgui_->newFrame();
  // Top right: the image's top-left corner and the usual click targets stay free.
  ImGui::SetNextWindowPos(ImVec2(width() - float(kHudMargin), float(kHudMargin)), ImGuiCond_Always, ImVec2(1.0f, 0.0f));
  ImGui::SetNextWindowBgAlpha(0.8f);
  // One width and the same lines whatever the numbers say: the display keeps its size while the
  // user works, so the image fitted beside it never moves on a parameter change.
  const float w =
      ImGui::CalcTextSize("encode 0000 ms  cluster 000.0 ms  total 0000 ms").x + 2 * ImGui::GetStyle().WindowPadding.x;
  ImGui::SetNextWindowSizeConstraints(ImVec2(w, 0), ImVec2(w, FLT_MAX));
  if (hudCollapseWanted_ != hudCollapsed_) ImGui::SetNextWindowCollapsed(hudCollapseWanted_, ImGuiCond_Always);
  const bool open = ImGui::Begin("Tokens", nullptr,
                                 ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                     ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoFocusOnAppearing);
  noteHudGeometry(ImGui::IsWindowCollapsed(), QSizeF(ImGui::GetWindowSize().x, ImGui::GetWindowSize().y),
                  ImGui::GetFrameHeight());
  if (tokens_.get() != hudTokens_ || latencyMs_ != hudLatencyMs_) {
    // An auto-resizing ImGui window takes its new size one frame after its content changed, and
    // this canvas only paints on events, so new content asks for that one more frame.
    hudTokens_ = tokens_.get();
    hudLatencyMs_ = latencyMs_;
    QMetaObject::invokeMethod(
        this, [this] { update(); }, Qt::QueuedConnection);
  }
  if (open) paintHudLines();
  ImGui::End();
  imgui_->render();
}

// What the display's frame told: its size, and whether it is folded. A fold the canvas did not
// ask for is the user's (the ▼): the fit then keeps clear of the display as the user left it.
void ImageCanvas::noteHudGeometry(bool collapsed, const QSizeF& size, double titleHeight) {
  if (collapsed != hudCollapsed_) {
    if (collapsed != hudCollapseWanted_) hudUserFolded_ = true;
    hudCollapsed_ = hudCollapseWanted_ = collapsed;
  }
  hudTitleHeight_ = titleHeight;
  const QSizeF before = hudSize_;
  if (!collapsed) hudExpanded_ = size;
  hudSize_ = collapsed ? QSizeF(hudExpanded_.isEmpty() ? size.width() : hudExpanded_.width(), titleHeight) : size;
  if (std::abs(hudSize_.width() - before.width()) > 1 || std::abs(hudSize_.height() - before.height()) > 1)
    if (fit_)
      QMetaObject::invokeMethod(
          this,
          [this] {
            if (fit_) fitToWindow();
          },
          Qt::QueuedConnection);
}

void ImageCanvas::paintHudLines() {
  const engine::TokenizeResult* t = tokens_.get();
  if (t) ImGui::Text("%d tokens  (%dx%d patch grid)", static_cast<int>(t->tokens.size()), t->grid_w, t->grid_h);
  else ImGui::TextUnformatted(image_.isNull() ? "no image" : "tokenizing...");  // ImGui's font is ASCII
  if (t && !t->trained) ImGui::TextColored(ImVec4(1.0f, 0.75f, 0.2f, 1.0f), "untrained model: pipeline only");
  ImGui::Separator();
  if (t) {
    ImGui::Text("cap %d   knn %d   beta %.2f", t->params.max_tokens, t->params.knn, t->params.beta);
    ImGui::Text("bandwidth %.3f%s   %s", t->params.effective_bandwidth(), t->params.bandwidth > 0 ? "" : " (auto)",
                tokenizer::to_string(t->params.mode).c_str());
    ImGui::Text("encode %.0f ms  cluster %.1f ms  total %.0f ms", t->ms.encode_ms, t->ms.cluster_ms, t->ms.total_ms);
  } else {
    for (int i = 0; i < 3; ++i) ImGui::TextUnformatted("-");
  }
  if (t && drawingReconstruction())
    ImGui::Text("reconstruction %.1f dB at %dx%d", t->reconstruction_psnr_db, t->reconstruction.width,
                t->reconstruction.height);
  else ImGui::TextDisabled("reconstruction: Ctrl+R");
  if (latencyMs_ > 0) ImGui::Text("last change on screen after %.0f ms", latencyMs_);
  else ImGui::TextDisabled("last change on screen: -");
  ImGui::Separator();
  // The plot's title above it, not as its overlay (which ImGui draws over the bars).
  ImGui::TextUnformatted("token areas");
  ImGui::PlotHistogram("##areas", areaHist_.data(), static_cast<int>(areaHist_.size()), 0, nullptr, 0.0f, FLT_MAX,
                       ImVec2(220, 60));
  ImGui::TextUnformatted("heat map");
  int h = static_cast<int>(heat_);
  bool changed = ImGui::RadioButton("tokens", &h, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("density", &h, 1);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("seed score", &h, 2);
  if (changed && t) setHeat(static_cast<Heat>(h));
}

void ImageCanvas::resizeGL(int, int) {}

// Not resizeGL: Qt calls that only once the GL context exists, and a canvas resized before it
// first shows (the docks settling) would keep a fit made for another size.
void ImageCanvas::resizeEvent(QResizeEvent* e) {
  QOpenGLWidget::resizeEvent(e);
  if (fit_) fitToWindow();
}

void ImageCanvas::wheelEvent(QWheelEvent* e) {
  e->accept();
  if (imgui_->wantsMouse()) return;
  double steps = e->angleDelta().y() / 120.0;
  if (steps != 0) zoomAround(std::pow(kStep, steps), e->position());
}

void ImageCanvas::mousePressEvent(QMouseEvent* e) {
  if (hud_ && imgui_->wantsMouse()) return;
  if (tool_ && tool_->mousePress(e)) return;
  if (e->button() == Qt::LeftButton || e->button() == Qt::MiddleButton) {
    dragging_ = true;
    moved_ = false;
    dragStart_ = e->position();
    offsetStart_ = offset_;
  }
}

void ImageCanvas::updateHover(const QPointF& pos) {
  const int t = tokenAt(pos);
  if (t == hovered_) return;
  hovered_ = t;
  update();
  Q_EMIT tokenHovered(t);
  if (t >= 0 && tokens_) {
    const auto& s = tokens_->tokens[t];
    QToolTip::showText(mapToGlobal(pos.toPoint()),
                       tr("token %1: area %2 px (%3%), bbox %4,%5 %6×%7\nseed score %8, density %9")
                           .arg(t)
                           .arg(s.stat.area)
                           .arg(100.0 * s.stat.area / (double(tokens_->width) * tokens_->height), 0, 'f', 1)
                           .arg(s.stat.x)
                           .arg(s.stat.y)
                           .arg(s.stat.w)
                           .arg(s.stat.h)
                           .arg(s.seed_score, 0, 'g', 3)
                           .arg(s.density, 0, 'g', 3),
                       this);
  } else {
    QToolTip::hideText();
  }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* e) {
  if (!dragging_ && tool_ && !(hud_ && imgui_->wantsMouse()) && tool_->mouseMove(e)) {
    if (hovered_ >= 0) updateHover(QPointF(-1e9, -1e9));  // the tool has the pointer, not the tokens
    return;
  }
  if (dragging_) {
    if ((e->position() - dragStart_).manhattanLength() > 3) {
      if (!moved_) setCursor(Qt::ClosedHandCursor);
      moved_ = true;
    }
    if (moved_) {
      offset_ = offsetStart_ + (e->position() - dragStart_);
      fit_ = false;
      update();
    }
    return;
  }
  updateHover(hud_ && imgui_->wantsMouse() ? QPointF(-1e9, -1e9) : e->position());
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent* e) {
  if (!dragging_ && tool_ && tool_->mouseRelease(e)) return;
  const bool click = dragging_ && !moved_ && e->button() == Qt::LeftButton;
  dragging_ = false;
  unsetCursor();
  if (click && tokens_) Q_EMIT tokenClicked(tokenAt(e->position()), e->modifiers() & Qt::ShiftModifier);
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent* e) {
  if (imgui_->wantsMouse()) return;
  // A tool takes a double click as its second click (two quick points); else it fits the image.
  if (tool_ && tool_->mousePress(e)) return;
  fitToWindow();
}

void ImageCanvas::leaveEvent(QEvent*) {
  updateHover(QPointF(-1e9, -1e9));
  if (tool_) tool_->leave();
}

// A tool's keys (the Segment tool's Ctrl+Z) go to it before the window's shortcuts see them.
bool ImageCanvas::event(QEvent* e) {
  if (e->type() == QEvent::ShortcutOverride && tool_ && tool_->wantsKey(static_cast<QKeyEvent*>(e))) {
    e->accept();
    return true;
  }
  return QOpenGLWidget::event(e);
}

void ImageCanvas::keyPressEvent(QKeyEvent* e) {
  if (tool_ && tool_->keyPress(e)) return;
  QOpenGLWidget::keyPressEvent(e);
}

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
