#pragma once
// The GUI's handle on core's Engine: submits requests and re-emits their results on the GUI
// thread through queued calls. Pimpl, so moc never reads a torch header (QT_NO_KEYWORDS aside,
// LibTorch's IValue::slots() and Qt's `slots` collide).
#include <QObject>
#include <QString>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/engine/engine.h"

namespace setok::ui {

using TokenizePtr = std::shared_ptr<const engine::TokenizeResult>;
using ComparePtr = std::shared_ptr<const engine::ClusterCompareResult>;
using SegmentPtr = std::shared_ptr<const engine::SegmentOutcome>;
using ChatPtr = std::shared_ptr<const engine::ChatOutcome>;
using EditPtr = std::shared_ptr<const engine::EditOutcome>;

class EngineBridge : public QObject {
  Q_OBJECT
 public:
  // modelDir empty: the bundled model, else the engine's untrained fallback.
  explicit EngineBridge(QObject* parent = nullptr, const QString& modelDir = {});
  ~EngineBridge() override;  // cancels and joins the workers before the QObject goes

  // Request ids grow across every bridge of the process: a result is told from an older one (another
  // image, another model) by its id alone.
  // drag: a live parameter change; queued drags are superseded by newer ones.
  quint64 tokenize(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params, bool drag = false);
  quint64 compare(const io::Image& image, const std::optional<tokenizer::ClusterParams>& params);
  // On the SeTokim worker, beside chat. imageKey: the caller's name for the image (same key = same
  // image, its encoding reused; the image may then be empty). preview: superseded by newer previews.
  quint64 segment(const io::Image& image, quint64 imageKey, const heads::SegmentQuery& query, bool preview = false);
  // An edit of request.image, or a new picture from request.prompt (request.id is set here), on the
  // SeTokim worker; the result comes as edited. Cancelled by cancel(id) and cancelAll().
  quint64 edit(engine::EditRequest request);
  // Encodes the image for later segment() calls with its key (as soon as an image opens).
  quint64 encodeForSegment(const io::Image& image, quint64 imageKey);
  // One step of a conversation kept in the engine (request.id is set here): the answer's pieces come
  // as chatPiece, the end as chatted. Chat requests are not counted in inFlight() nor cancelled by
  // cancelAll(): they belong to the Chat panel, not to the image on the canvas.
  quint64 chat(engine::ChatRequest request);
  quint64 newConversation();
  void closeConversation(quint64 conversation);  // its state in the engine goes
  // Cancels one request by its id (for chat: stops the answer at its next piece).
  void cancel(quint64 id);
  // Cancels the tokenize, compare and segment requests in flight.
  void cancelAll();
  // Later tokenize and compare requests use the SeTok model in `dir` (empty: the bundled one); the
  // SeTokim, its conversations and encoded images stay.
  void useSetokModel(const QString& dir);
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
  void segmented(setok::ui::SegmentPtr result);
  void edited(setok::ui::EditPtr result);
  void chatPiece(quint64 id, const QString& piece);
  void chatted(setok::ui::ChatPtr result);
  void progress(quint64 id, float fraction);
  void busyChanged(bool busy);

 private:
  void delivered(quint64 id);
  // Counts a request in flight and returns its progress callback (posts to the GUI thread).
  std::function<bool(float)> beginRequest(quint64 id);
  quint64 submitSegment(engine::SegmentRequest r, bool supersede);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Requests whose result has not reached this thread yet: their ticket, and whether they are chat.
  struct Pending {
    engine::Engine::Ticket ticket = 0;
    bool chat = false;
  };
  std::unordered_map<quint64, Pending> pending_;
  int inFlight_ = 0;
  bool pixelEdges_ = false;
  bool reconstruct_ = false;
};

}  // namespace setok::ui
