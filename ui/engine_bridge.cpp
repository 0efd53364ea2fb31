#include "ui/engine_bridge.h"

#include <QMetaObject>
#include <QPointer>

namespace setok::ui {

struct EngineBridge::Impl {
  explicit Impl(const QString& dir) : engine(engine::EngineOptions{dir.toStdString(), 0.5f}) {}
  engine::Engine engine;
};

EngineBridge::EngineBridge(QObject* parent, const QString& modelDir)
    : QObject(parent), impl_(std::make_unique<Impl>(modelDir)) {}

// The engine joins its worker here, while this QObject still exists; results it posts while
// shutting down are dropped with the object's pending events.
EngineBridge::~EngineBridge() { impl_.reset(); }

engine::Engine& EngineBridge::engine() { return impl_->engine; }

void EngineBridge::delivered() {
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
  impl_->engine.submit(std::move(r),
                       post_result<engine::TokenizeResult>(this,
                                                           [this](TokenizePtr p) {
                                                             delivered();
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
  impl_->engine.submit(std::move(r),
                       post_result<engine::ClusterCompareResult>(this,
                                                                 [this](ComparePtr p) {
                                                                   delivered();
                                                                   Q_EMIT compared(p);
                                                                 }),
                       beginRequest(id), true);
  return id;
}

void EngineBridge::cancelAll() { impl_->engine.cancel_all(); }

}  // namespace setok::ui
