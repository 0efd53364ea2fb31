#include "ui/comparison_view.h"
#include "ui/qimage_convert.h"

#include <QPainter>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace setok::ui {
namespace {}  // namespace

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
  setObjectName("ComparisonView");
  setMinimumSize(320, 200);
}

void ComparisonView::setResult(const ComparePtr& result) {
  result_ = result && result->ok() ? result : nullptr;
  pending_ = false;
  if (result_) {
    panes_[0] = to_qimage(result_->setok_overlay);
    panes_[1] = to_qimage(result_->patch_overlay);
    panes_[2] = to_qimage(result_->fixed_k_overlay);
  }
  update();
}

void ComparisonView::setPending(bool pending) {
  pending_ = pending;
  update();
}

void ComparisonView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().color(QPalette::Window));
  p.setPen(palette().color(QPalette::WindowText));
  if (!result_) {
    p.drawText(rect(), Qt::AlignCenter,
               pending_ ? tr("Clustering…") : tr("Open an image to compare SeTok with a patch grid and fixed K."));
    return;
  }
  const auto& r = *result_;
  const int cells =
      static_cast<int>(std::lround(std::sqrt(double(*std::max_element(r.patch_map.begin(), r.patch_map.end()) + 1))));
  const QString captions[3] = {
      tr("SeTok: %1 tokens, chosen per image").arg(r.tokens),
      tr("Patch grid: %1×%1 fixed cells").arg(cells),
      tr("Fixed K: DPC-KNN, K = %1").arg(r.tokens),
  };
  const int margin = 12, caption = fontMetrics().height() * 2 + 8;
  const double paneW = (width() - margin * 4) / 3.0, paneH = height() - margin * 2 - caption;
  const double scale = std::max(0.01, std::min(paneW / r.width, paneH / r.height));
  const QSizeF size(r.width * scale, r.height * scale);
  p.setRenderHint(QPainter::SmoothPixmapTransform);
  for (int i = 0; i < 3; ++i) {
    const double x = margin + i * (paneW + margin);
    const QRectF img(x + (paneW - size.width()) / 2, margin + (paneH - size.height()) / 2, size.width(), size.height());
    p.drawImage(img, panes_[i]);
    p.drawText(QRectF(x, img.bottom() + 6, paneW, caption), Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap,
               captions[i]);
  }
  if (!r.trained)
    p.drawText(
        rect().adjusted(margin, margin, -margin, -margin / 2), Qt::AlignBottom | Qt::AlignHCenter,
        tr("Model: %1 — the groupings only show the pipeline at work.").arg(QString::fromStdString(r.model_name)));
}

}  // namespace setok::ui
