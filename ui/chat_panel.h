#pragma once
// The Chat panel: talk with SeTokim about the canvas image or images dropped on the panel.
// Answers stream in; Stop cuts one short; Regenerate answers the last question again; a past
// question can be edited and the conversation re-run from there; messages copy; conversations
// save and open as JSON. Hovering an answer washes the canvas with what it attended to. All model
// work runs on the panel's own worker thread, one job at a time.
#include <QStringList>
#include <QWidget>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/io/image.h"
#include "core/mllm/chat_session.h"

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
  explicit ChatPanel(QWidget* parent = nullptr);
  ~ChatPanel() override;  // stops the answer in progress and joins the worker

  // The bundled SeTokim (resources/models/setokim-small) if there is one, else empty.
  static QString defaultModel();
  // Loads a SeTokim folder on the worker; modelChanged / errorOccurred tell how it went.
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
  // Runs `job` on the worker; `done` then runs on the GUI thread with the error (empty if none).
  void run(std::function<void()> job, std::function<void(const QString& error)> done);
  void snapshot();  // copies the session's turns and images for the GUI (worker side, then posted)
  void rebuild();
  void setBusy(bool busy);
  void startAnswer(std::function<void(const mllm::ChatSession::Stream&)> call);
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

  std::unique_ptr<mllm::ChatSession> session_;  // touched by the worker only while busy_
  std::thread worker_;
  std::atomic<bool> cancel_{false};
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
