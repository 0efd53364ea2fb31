#pragma once
// The Chat panel: talk with SeTokim about the canvas image or images dropped on the panel.
// Answers stream in; Stop cuts one short; Regenerate answers the last question again; a past
// question can be edited and the conversation re-run from there; messages copy; conversations
// save and open as JSON. Hovering an answer washes the canvas with what it attended to. All model
// work runs in the engine (its SeTokim worker, which keeps the conversation), one request at a time.
#include <QPointer>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <vector>

#include "core/io/image.h"
#include "core/mllm/chat_session.h"
#include "ui/engine_bridge.h"

class QLabel;
class QListWidget;
class QListWidgetItem;
class QPlainTextEdit;
class QPushButton;
class QVBoxLayout;

namespace setok::ui {

class ChatPanel : public QWidget {
  Q_OBJECT
 public:
  // The bridge (the studio's, shared with the inspector) runs the conversation; it may go before
  // the panel does.
  explicit ChatPanel(EngineBridge* bridge, QWidget* parent = nullptr);
  ~ChatPanel() override;  // stops the answer in progress; the engine forgets the conversation

  // The bundled SeTokim (resources/models/setokim-small) if there is one, else empty.
  static QString defaultModel();
  // Loads a SeTokim folder in the engine; modelChanged / errorOccurred tell how it went.
  void loadModel(const QString& dir);
  QString modelDir() const { return modelDir_; }
  bool busy() const { return busy_; }

  // The studio's current image, offered by "Use canvas image" and attached by itself to the next
  // question when nothing else is attached: a new canvas image after a conversation about an
  // earlier one starts a new conversation about it.
  void setCanvasImage(const io::Image& image, const QString& name);
  void attachImageFile(const QString& path);
  void attachCanvasImage();

  void ask(const QString& question);
  void regenerate();
  void editAndRerun(int turn, const QString& question);
  void stop();
  void clear();
  bool save(const QString& path, QString* error) const;
  void open(const QString& path);

  // What the transcript shows (a copy made after each finished job).
  const std::vector<mllm::ChatTurn>& turns() const { return turns_; }
  const std::vector<mllm::ChatImage>& images() const { return images_; }
  QString transcriptText(int row) const;
  QString transcriptToolTip(int row) const;
  QString nextQuestionLabel() const;  // the line above the input: which image the next question is about
  int rowCount() const;
  // As hovering row `row` would: emits highlightChanged for the canvas image.
  void hoverRow(int row);

 Q_SIGNALS:
  void modelChanged(const QString& dir);
  void errorOccurred(const QString& message);
  void answerFinished();
  // Per-patch weights (0..1) on the chat model's grid over the canvas image; empty: clear.
  void highlightChanged(const std::vector<float>& weights, int grid_h, int grid_w);
  // An answer that is [SEG] drew a mask over the canvas image (0/1, width × height); `name` is
  // the question it answers.
  void maskAnswered(const QString& name, const std::vector<std::uint8_t>& mask, int width, int height);

 protected:
  void dragEnterEvent(class QDragEnterEvent* e) override;
  void dropEvent(class QDropEvent* e) override;
  bool eventFilter(QObject* watched, QEvent* e) override;  // leaving the transcript clears the wash

 private:
  // The constructor's steps, in order: the panel's rows top to bottom.
  void addModelRow(QVBoxLayout* v);
  void addTranscript(QVBoxLayout* v);
  void addAttachRow(QVBoxLayout* v);
  void addInputAndButtons(QVBoxLayout* v);
  // Sends `request` for this conversation (false: refused, with a message); `done` then runs on the
  // GUI thread with its outcome, after the transcript shows the conversation as the engine has it.
  using Then = std::function<void(const engine::ChatOutcome& outcome)>;
  bool run(engine::ChatRequest request, Then done);
  void onChatted(const ChatPtr& outcome);
  void onPiece(quint64 id, const QString& piece);
  void rebuild();
  void showAnsweredMask();  // the last answer's [SEG] mask, when it is over the canvas image
  void setBusy(bool busy);
  // Sends a request with an answer: the answer streams into the last row; `done` runs before
  // answerFinished.
  void startAnswer(engine::ChatRequest request, Then done = {});
  void showContextMenu(const QPoint& pos);
  // Which image the next question goes out with: the ones attached to it, the canvas image (the
  // first question), or the canvas image in a new conversation (the canvas changed since).
  enum class NextImage { kAsAttached, kCanvas, kNewConversation };
  NextImage nextImage() const;
  QString canvasLabel() const;
  int imageOfTurn(std::size_t turn) const;
  QString nextQuestionText(const QStringList& waiting) const;
  QString answerToolTip(std::size_t turn) const;
  void addDomainNote(const mllm::ChatTurn& t);

  QPointer<EngineBridge> bridge_;
  quint64 conversation_ = 0;  // the engine's name for this panel's conversation
  quint64 request_ = 0;       // the request in flight (0: none)
  Then then_;                 // what follows it
  bool busy_ = false;
  QString modelDir_;
  io::Image canvasImage_;
  QString canvasName_;
  int canvasImageIndex_ = -1;  // the canvas image's index in the session, once attached
  bool onCanvas_ = false;      // the conversation is about a canvas image (this one or an earlier)
  std::vector<mllm::ChatTurn> turns_;
  std::vector<mllm::ChatImage> images_;
  std::vector<int> pending_;
  QString live_;       // the answer streaming in
  int editTurn_ = -1;  // Send re-runs from this question instead of asking anew
  mllm::ChatSampling sampling_;

  QLabel* modelLabel_;
  QLabel* attachLabel_;
  QListWidget* list_;
  QPlainTextEdit* input_;
  QPushButton *send_, *stop_, *regen_, *canvasBtn_;
};

}  // namespace setok::ui
