#include "ui/segment_session.h"

#include <algorithm>

namespace setok::ui {

namespace {

// Keys grow across the process: a key names one opened image to the engine's encoding cache, so
// two images never share one, even across bridges.
quint64 next_image_key() {
  static quint64 next = 1;
  return next++;
}

constexpr int kMaxNameChars = 40;

std::string mask_name_for(const QString& expression) {
  QString name = expression.simplified();
  if (name.size() > kMaxNameChars) name = name.left(kMaxNameChars - 1) + QChar(0x2026);
  return name.toStdString();
}

}  // namespace

SegmentSession::SegmentSession(edit::MaskDocument* doc, QObject* parent) : QObject(parent), doc_(doc) {}

void SegmentSession::setBridge(EngineBridge* bridge) {
  if (bridge == bridge_) return;
  disconnect(connection_);
  bridge_ = bridge;
  // What the old bridge was asked is lost with it (its results no longer reach here).
  pending_.clear();
  encodeId_ = previewId_ = 0;
  previewFailed_ = false;
  if (!bridge_) return;
  connection_ = connect(bridge_, &EngineBridge::segmented, this, &SegmentSession::onSegmented);
  if (!image_.empty()) encodeId_ = bridge_->encodeForSegment(image_, key_);
}

void SegmentSession::setImage(const io::Image& image) {
  image_ = image;
  key_ = next_image_key();
  doc_->reset(image.width, image.height);
  pending_.clear();
  previewId_ = 0;
  queuedHover_.reset();
  previewFailed_ = false;
  Q_EMIT previewCleared();
  if (bridge_ && !image_.empty()) encodeId_ = bridge_->encodeForSegment(image_, key_);
}

bool SegmentSession::ready(QString* error) const {
  if (image_.empty()) {
    if (error) *error = tr("open an image first");
    return false;
  }
  if (!bridge_) {
    if (error) *error = tr("no segmentation model: the engine is not running");
    return false;
  }
  return true;
}

int SegmentSession::targetMask() {
  if (doc_->current() >= 0) return doc_->current();
  return doc_->add();
}

// The prompt the mask will have once every request sent for it is answered: a second click sent
// before the first one's result keeps the first click.
edit::MaskPrompt SegmentSession::latestPrompt(quint32 maskId) const {
  quint64 newest = 0;
  for (auto it = pending_.begin(); it != pending_.end(); ++it)
    if (it->maskId == maskId && it.key() > newest) newest = it.key();
  if (newest) return pending_.value(newest).prompt;
  const int i = doc_->index_of(maskId);
  return i >= 0 ? doc_->mask(i).prompt : edit::MaskPrompt{};
}

void SegmentSession::send(const heads::SegmentQuery& query, Pending p) {
  stopPreview();
  const quint64 id = bridge_->segment(image_, key_, query);
  pending_.insert(id, std::move(p));
}

bool SegmentSession::segmentExpression(const QString& expression, QString* error) {
  const QString text = expression.trimmed();
  if (text.isEmpty()) {
    if (error) *error = tr("type an expression first");
    return false;
  }
  if (!ready(error)) return false;
  // An empty current mask takes the answer; else the answer comes as a mask of its own.
  const edit::NamedMask* cur = doc_->current_mask();
  heads::SegmentQuery q;
  q.expression = text.toStdString();
  Pending p;
  if (cur && cur->area() == 0 && cur->prompt.empty()) p.maskId = cur->id;
  else p.newMask = mask_name_for(text);
  p.prompt.expression = q.expression;
  p.label = "Segment \"" + mask_name_for(text) + "\"";
  send(q, std::move(p));
  return true;
}

bool SegmentSession::click(const QPointF& imagePos, bool positive, QString* error) {
  if (!ready(error)) return false;
  if (imagePos.x() < 0 || imagePos.y() < 0 || imagePos.x() >= image_.width || imagePos.y() >= image_.height) {
    if (error) *error = tr("the click is outside the image");
    return false;
  }
  const edit::NamedMask& m = doc_->mask(targetMask());
  Pending p;
  p.maskId = m.id;
  p.prompt = latestPrompt(m.id);
  p.prompt.clicks.push_back({static_cast<float>(imagePos.x()), static_cast<float>(imagePos.y()), positive});
  p.label = positive ? "Add point" : "Remove point";
  const heads::SegmentQuery q = edit::refine_query(p.prompt, m.bits);  // before p moves
  send(q, std::move(p));
  return true;
}

bool SegmentSession::box(const QRectF& imageRect, QString* error) {
  if (!ready(error)) return false;
  const QRectF r = imageRect.normalized().intersected(QRectF(0, 0, image_.width, image_.height));
  if (r.width() < 1 || r.height() < 1) {
    if (error) *error = tr("the box is outside the image");
    return false;
  }
  const edit::NamedMask& m = doc_->mask(targetMask());
  Pending p;
  p.maskId = m.id;
  p.prompt = latestPrompt(m.id);
  p.prompt.box = heads::Box{static_cast<float>(r.left()), static_cast<float>(r.top()), static_cast<float>(r.right()),
                            static_cast<float>(r.bottom())};
  p.label = "Box";
  const heads::SegmentQuery q = edit::refine_query(p.prompt, m.bits);  // before p moves
  send(q, std::move(p));
  return true;
}

bool SegmentSession::previewWanted() const {
  if (image_.empty() || !bridge_ || previewFailed_ || !pending_.isEmpty()) return false;
  const edit::NamedMask* cur = doc_->current_mask();
  return !cur || (cur->area() == 0 && cur->prompt.empty());
}

void SegmentSession::hover(const QPointF& imagePos) {
  const bool inside =
      imagePos.x() >= 0 && imagePos.y() >= 0 && imagePos.x() < image_.width && imagePos.y() < image_.height;
  if (!inside || !previewWanted()) {
    if (hovering_) stopPreview();
    return;
  }
  hovering_ = true;
  if (previewId_) queuedHover_ = imagePos;  // one in flight: the newest position waits for it
  else sendPreview(imagePos);
}

void SegmentSession::sendPreview(const QPointF& imagePos) {
  heads::SegmentQuery q;
  q.clicks.push_back({static_cast<float>(imagePos.x()), static_cast<float>(imagePos.y()), true});
  q.best_only = true;  // the preview shows one mask
  previewId_ = bridge_->segment(image_, key_, q, true);
}

void SegmentSession::stopPreview() {
  queuedHover_.reset();
  if (!hovering_) return;
  hovering_ = false;
  Q_EMIT previewCleared();
}

void SegmentSession::onSegmented(const SegmentPtr& r) {
  if (r->image_key != key_) return;  // for an image no longer open
  if (r->id == previewId_) return onPreview(r);
  if (r->id == encodeId_) {
    encodeId_ = 0;
    if (r->status == engine::Status::kError) Q_EMIT failed(QString::fromStdString(r->error));
    Q_EMIT encoded(r);
    return;
  }
  auto it = pending_.find(r->id);
  if (it == pending_.end()) return;
  const Pending p = *it;
  pending_.erase(it);
  onResult(r, p);
}

void SegmentSession::onPreview(const SegmentPtr& r) {
  previewId_ = 0;
  if (r->status == engine::Status::kError) {
    previewFailed_ = true;
    stopPreview();
    Q_EMIT failed(QString::fromStdString(r->error));
    return;
  }
  const auto& res = r->result;
  const bool usable = res.best >= 0 && res.best < static_cast<int>(res.candidates.size()) &&
                      res.width == image_.width && res.height == image_.height;
  if (r->ok() && hovering_ && previewWanted() && usable) Q_EMIT previewReady(r);
  if (queuedHover_) {
    const QPointF next = *queuedHover_;
    queuedHover_.reset();
    if (hovering_ && previewWanted()) sendPreview(next);
  }
}

void SegmentSession::onResult(const SegmentPtr& r, const Pending& p) {
  if (r->status == engine::Status::kError) {
    Q_EMIT failed(QString::fromStdString(r->error));
    return;
  }
  if (!r->ok()) return;  // cancelled: nothing to apply
  const int i = p.maskId ? doc_->index_of(p.maskId) : -1;
  if (p.maskId && i < 0) return;  // the mask was deleted meanwhile
  const heads::SegmentResult& res = r->result;
  const bool usable = res.best >= 0 && res.best < static_cast<int>(res.candidates.size()) &&
                      res.mask().mask.size() == static_cast<std::size_t>(image_.width) * image_.height;
  if (!usable) {
    Q_EMIT failed(tr("the decoder gave no mask of the image's size"));
    return;
  }
  edit::MaskPrompt prompt = p.prompt;
  prompt.low_res = res.low_res;
  prompt.low_res_side = res.low_res_side;
  if (i >= 0) {
    doc_->set_mask(i, res.mask().mask, std::move(prompt), p.label);
    Q_EMIT applied(r, p.maskId);
  } else {
    const int added = doc_->add(p.newMask, res.mask().mask, std::move(prompt), p.label);
    Q_EMIT applied(r, doc_->mask(added).id);
  }
}

}  // namespace setok::ui
