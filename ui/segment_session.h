#pragma once
// The Segment tool's traffic with the engine (issue 42): encodes each image in the background as it
// opens, turns clicks, boxes and expressions into queries that refine the current mask, keeps hover
// previews to one request in flight (the latest pointer position waits for it; the engine drops
// queued previews a newer one supersedes), and applies each result to the mask document as one undo
// step. No model code here: the engine runs it; this only sends requests and reads outcomes.
#include <QHash>
#include <QObject>
#include <QPointF>
#include <QPointer>
#include <QRectF>
#include <QString>
#include <optional>

#include "core/edit/mask_document.h"
#include "core/io/image.h"
#include "ui/engine_bridge.h"

namespace setok::ui {

class SegmentSession : public QObject {
  Q_OBJECT
 public:
  explicit SegmentSession(edit::MaskDocument* doc, QObject* parent = nullptr);

  // The engine to ask (may be null: then every request fails with a message). A new bridge (another
  // model) encodes the open image again.
  void setBridge(EngineBridge* bridge);
  EngineBridge* bridge() const { return bridge_; }
  // A new image: the document starts empty at its size, and the encoder runs on it at once, so that
  // the first click only waits for the light decoder.
  void setImage(const io::Image& image);
  const io::Image& image() const { return image_; }
  quint64 imageKey() const { return key_; }

  // Each sends one request and returns true, or returns false with a one-line reason in *error
  // ("type an expression first", "the click is outside the image", …) and sends nothing.
  bool segmentExpression(const QString& expression, QString* error);
  bool click(const QPointF& imagePos, bool positive, QString* error);
  bool box(const QRectF& imageRect, QString* error);
  // The pointer over the image in Click mode: a preview of the mask a click there would give, while
  // the current mask has nothing in it yet (before its first click).
  void hover(const QPointF& imagePos);
  void stopPreview();  // the pointer left, or a click made the preview moot
  bool previewWanted() const;
  int pending() const { return static_cast<int>(pending_.size()); }

 Q_SIGNALS:
  // A result became an undo step on the mask with this id (its candidates are the alternatives).
  // An expression answered into a new mask: the mask is made with it, so a failed one leaves none.
  void applied(setok::ui::SegmentPtr outcome, quint32 maskId);
  void previewReady(setok::ui::SegmentPtr outcome);
  void previewCleared();
  void encoded(setok::ui::SegmentPtr outcome);  // the open image's encoding is ready (ok) or failed
  void failed(const QString& message);          // one line, for the panel's status line

 private:
  struct Pending {
    quint32 maskId = 0;  // 0: a new mask named newMask, made with its answer (one step)
    std::string newMask;
    edit::MaskPrompt prompt;  // what the mask's prompt becomes once the result is in
    std::string label;        // the undo step's name
  };
  bool ready(QString* error) const;
  int targetMask();  // the current mask, or a new one
  edit::MaskPrompt latestPrompt(quint32 maskId) const;
  void send(const heads::SegmentQuery& query, Pending p);
  void sendPreview(const QPointF& imagePos);
  void onSegmented(const SegmentPtr& r);
  void onPreview(const SegmentPtr& r);
  void onResult(const SegmentPtr& r, const Pending& p);

  edit::MaskDocument* doc_;
  QPointer<EngineBridge> bridge_;
  QMetaObject::Connection connection_;
  io::Image image_;
  quint64 key_ = 0;
  quint64 encodeId_ = 0, previewId_ = 0;
  QHash<quint64, Pending> pending_;
  std::optional<QPointF> queuedHover_;
  bool hovering_ = false;
  bool previewFailed_ = false;  // previews stop after one failure (no model): no message per pointer move
};

}  // namespace setok::ui
