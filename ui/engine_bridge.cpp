#include "ui/engine_bridge.h"

#include <QMetaObject>
#include <QPointer>

namespace setok::ui {

namespace {
engine::EngineOptions options_for(const QString& dir) {
  engine::EngineOptions o;
  o.model_dir = dir.toStdString();
  o.overlay_opacity = 0.5f;
  return o;  // the SeTokim: the bundled one
}
}  // namespace

struct EngineBridge::Impl {
  explicit Impl(const QString& dir) : engine(options_for(dir)) {}
  engine::Engine engine;
};

EngineBridge::EngineBridge(QObject* parent, const QString& modelDir)
    : QObject(parent), impl_(std::make_unique<Impl>(modelDir)) {}

// The engine joins its workers here, while this QObject still exists; results it posts while
// shutting down are dropped with the object's pending events.
EngineBridge::~EngineBridge() { impl_.reset(); }

engine::Engine& EngineBridge::engine() { return impl_->engine; }

void EngineBridge::delivered(quint64 id) {
  pending_.erase(id);
  if (--inFlight_ == 0) Q_EMIT busyChanged(false);
}

namespace {

// Wraps a GUI-thread handler into the callback the engine runs on its worker thread: the worker
// only posts the result to the bridge's thread.
template <class Result, class Handler>
std::function<void(Result)> post_result(QObject* to, Handler handle) {
  return [to, handle](Result res) {
    auto p = std::make_shared<const Result>(std::move(res));
    QMetaObject::invokeMethod(
        to, [handle, p] { handle(p); }, Qt::QueuedConnection);
  };
}

// GUI thread only, as every bridge call.
quint64 next_request_id() {
  static quint64 next = 1;
  return next++;
}

}  // namespace

engine::Progress EngineBridge::beginRequest(quint64 id) {
  if (inFlight_++ == 0) Q_EMIT busyChanged(true);
  return [this, id](float f) {
    QMetaObject::invokeMethod(
        this, [this, id, f] { Q_EMIT progress(id, f); }, Qt::QueuedConnection);
    return true;
  };
}

quint64 EngineBridge::tokenize(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params,
                               bool drag) {
  engine::TokenizeRequest r;
  r.image = image;
  r.params = params;
  r.pixel_edges = pixelEdges_;
  r.reconstruct = reconstruct_;
  r.id = next_request_id();
  const quint64 id = r.id;
  pending_[id].ticket = impl_->engine.submit(std::move(r),
                                             post_result<engine::TokenizeResult>(this,
                                                                                 [this](TokenizePtr p) {
                                                                                   delivered(p->id);
                                                                                   Q_EMIT tokenized(p);
                                                                                 }),
                                             beginRequest(id), drag);
  return id;
}

quint64 EngineBridge::compare(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params) {
  engine::ClusterCompareRequest r;
  r.image = image;
  r.params = params;
  r.pixel_edges = pixelEdges_;
  r.id = next_request_id();
  const quint64 id = r.id;
  pending_[id].ticket = impl_->engine.submit(std::move(r),
                                             post_result<engine::ClusterCompareResult>(this,
                                                                                       [this](ComparePtr p) {
                                                                                         delivered(p->id);
                                                                                         Q_EMIT compared(p);
                                                                                       }),
                                             beginRequest(id), true);
  return id;
}

quint64 EngineBridge::submitSegment(engine::SegmentRequest r, bool supersede) {
  r.id = next_request_id();
  const quint64 id = r.id;
  pending_[id].ticket = impl_->engine.submit(std::move(r),
                                             post_result<engine::SegmentOutcome>(this,
                                                                                 [this](SegmentPtr p) {
                                                                                   delivered(p->id);
                                                                                   Q_EMIT segmented(p);
                                                                                 }),
                                             beginRequest(id), supersede);
  return id;
}

quint64 EngineBridge::edit(engine::EditRequest r) {
  r.id = next_request_id();
  const quint64 id = r.id;
  pending_[id].ticket = impl_->engine.submit(std::move(r),
                                             post_result<engine::EditOutcome>(this,
                                                                              [this](EditPtr p) {
                                                                                delivered(p->id);
                                                                                Q_EMIT edited(p);
                                                                              }),
                                             beginRequest(id));
  return id;
}

quint64 EngineBridge::segment(const io::Image& image, quint64 imageKey, const heads::SegmentQuery& query,
                              bool preview) {
  engine::SegmentRequest r;
  r.image = image;
  r.image_key = imageKey;
  r.query = query;
  return submitSegment(std::move(r), preview);
}

quint64 EngineBridge::encodeForSegment(const io::Image& image, quint64 imageKey) {
  engine::SegmentRequest r;
  r.image = image;
  r.image_key = imageKey;
  r.encode_only = true;
  return submitSegment(std::move(r), false);
}

quint64 EngineBridge::chat(engine::ChatRequest request) {
  request.id = next_request_id();
  const quint64 id = request.id;
  // Each piece is posted as it comes; the outcome after the last one (one queue, in order).
  engine::ChatStream stream = [this, id](const std::string& piece) {
    const QString q = QString::fromStdString(piece);
    QMetaObject::invokeMethod(
        this, [this, id, q] { Q_EMIT chatPiece(id, q); }, Qt::QueuedConnection);
    return true;
  };
  Pending& p = pending_[id];
  p.chat = true;
  p.ticket = impl_->engine.submit(std::move(request),
                                  post_result<engine::ChatOutcome>(this,
                                                                   [this](ChatPtr r) {
                                                                     pending_.erase(r->id);
                                                                     Q_EMIT chatted(r);
                                                                   }),
                                  std::move(stream));
  return id;
}

quint64 EngineBridge::newConversation() { return next_request_id(); }

void EngineBridge::closeConversation(quint64 conversation) {
  engine::ChatRequest r;
  r.conversation = conversation;
  r.action = engine::ChatAction::kClose;
  impl_->engine.submit(std::move(r), {});
}

void EngineBridge::cancel(quint64 id) {
  if (auto it = pending_.find(id); it != pending_.end()) impl_->engine.cancel(it->second.ticket);
}

void EngineBridge::cancelAll() {
  for (const auto& [id, p] : pending_)
    if (!p.chat) impl_->engine.cancel(p.ticket);
}

void EngineBridge::useSetokModel(const QString& dir) { impl_->engine.use_setok_model(dir.toStdString()); }

}  // namespace setok::ui
