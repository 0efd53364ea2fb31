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

quint64 EngineBridge::tokenize(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params,
                               bool drag) {
  engine::TokenizeRequest r;
  r.image = image;
  r.params = params;
  r.id = nextId_++;
  const quint64 id = r.id;
  if (inFlight_++ == 0) Q_EMIT busyChanged(true);
  // These callbacks run on the worker thread: they only post to the GUI thread.
  impl_->engine.submit(
      std::move(r),
      [this](engine::TokenizeResult res) {
        auto p = std::make_shared<const engine::TokenizeResult>(std::move(res));
        QMetaObject::invokeMethod(
            this,
            [this, p] {
              delivered();
              Q_EMIT tokenized(p);
            },
            Qt::QueuedConnection);
      },
      [this, id](float f) {
        QMetaObject::invokeMethod(
            this, [this, id, f] { Q_EMIT progress(id, f); }, Qt::QueuedConnection);
        return true;
      },
      drag);
  return id;
}

quint64 EngineBridge::compare(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params) {
  engine::ClusterCompareRequest r;
  r.image = image;
  r.params = params;
  r.id = nextId_++;
  const quint64 id = r.id;
  if (inFlight_++ == 0) Q_EMIT busyChanged(true);
  impl_->engine.submit(
      std::move(r),
      [this](engine::ClusterCompareResult res) {
        auto p = std::make_shared<const engine::ClusterCompareResult>(std::move(res));
        QMetaObject::invokeMethod(
            this,
            [this, p] {
              delivered();
              Q_EMIT compared(p);
            },
            Qt::QueuedConnection);
      },
      [this, id](float f) {
        QMetaObject::invokeMethod(
            this, [this, id, f] { Q_EMIT progress(id, f); }, Qt::QueuedConnection);
        return true;
      },
      true);
  return id;
}

void EngineBridge::cancelAll() { impl_->engine.cancel_all(); }

}  // namespace setok::ui
