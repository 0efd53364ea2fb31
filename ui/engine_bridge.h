#pragma once
// The GUI's handle on core's Engine: submits requests and re-emits their results on the GUI
// thread through queued calls. Pimpl, so moc never reads a torch header (QT_NO_KEYWORDS aside,
// LibTorch's IValue::slots() and Qt's `slots` collide).
#include <QObject>
#include <QString>
#include <memory>
#include <optional>

#include "core/engine/engine.h"

namespace setok::ui {

using TokenizePtr = std::shared_ptr<const engine::TokenizeResult>;
using ComparePtr = std::shared_ptr<const engine::ClusterCompareResult>;

class EngineBridge : public QObject {
  Q_OBJECT
 public:
  // modelDir empty: the bundled model, else the engine's untrained fallback.
  explicit EngineBridge(QObject* parent = nullptr, const QString& modelDir = {});
  ~EngineBridge() override;  // cancels and joins the worker before the QObject goes

  // Request ids grow across every bridge of the process: a window that replaces its bridge (another
  // model) can tell a new result from an old one by its id alone.
  // drag: a live parameter change; queued drags are superseded by newer ones.
  quint64 tokenize(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params, bool drag = false);
  quint64 compare(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params);
  void cancelAll();
  // Later tokenize requests ask for pixel edges (tokenizer::refine_token_map).
  void setPixelEdges(bool on) { pixelEdges_ = on; }
  bool pixelEdges() const { return pixelEdges_; }
  // Tokenize requests also ask for the detokenizer's picture of the tokens.
  void setReconstruct(bool on) { reconstruct_ = on; }
  bool reconstruct() const { return reconstruct_; }
  // Requests submitted whose result has not reached the GUI thread yet.
  int inFlight() const { return inFlight_; }
  engine::Engine& engine();

 Q_SIGNALS:
  // Every request gets exactly one of these, whatever its status.
  void tokenized(setok::ui::TokenizePtr result);
  void compared(setok::ui::ComparePtr result);
  void progress(quint64 id, float fraction);
  void busyChanged(bool busy);

 private:
  void delivered();
  // Counts a request in flight and returns its progress callback (posts to the GUI thread).
  std::function<bool(float)> beginRequest(quint64 id);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int inFlight_ = 0;
  bool pixelEdges_ = false;
  bool reconstruct_ = false;
};

}  // namespace setok::ui
