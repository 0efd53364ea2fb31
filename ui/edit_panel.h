#pragma once
// The Edit tool in the Edit dock (issue 43): an instruction, confined when asked to the selection
// (the Segment tool's current mask, else the selected tokens); the preview is made on the SeTokim
// worker (progress, Cancel) and shown on the canvas with a before/after wipe; Accept makes it the
// image (one undo step, the window's), Discard drops it, Save result… writes it. Below, a prompt
// draws a new picture, which opens as the window's image. Errors go to the panel's status line.
#include <QString>
#include <QWidget>
#include <functional>
#include <vector>

#include "ui/engine_bridge.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace setok::ui {

class ImageCanvas;

class EditPanel : public QWidget {
  Q_OBJECT
 public:
  explicit EditPanel(ImageCanvas* canvas, QWidget* parent = nullptr);

  void setBridge(EngineBridge* bridge);
  // The picture edits apply to (a new or edited image): any preview is dropped.
  void setImage(const io::Image& image);
  // What "Only the selection" confines an edit to: a 0/1 mask of the image's size, or empty (none).
  void setSelectionSource(std::function<std::vector<std::uint8_t>()> source);

  // What the controls do, callable directly (tests, menus).
  void preview();  // the instruction field's text
  void draw();     // the prompt field's text
  void cancel();
  void accept();
  void discard();
  void setWipe(int percent);  // the after picture's share, from the left
  bool saveResult(const QString& path, QString* error = nullptr);
  void saveResultWithDialog();

  bool hasPreview() const { return !after_.empty(); }
  bool busy() const { return pending_ != 0; }
  const io::Image& result() const { return after_; }
  EditPtr lastOutcome() const { return last_; }
  QString statusText() const;
  bool statusIsError() const { return statusError_; }
  QLineEdit* instructionField() const { return instruction_; }
  QLineEdit* promptField() const { return prompt_; }
  QCheckBox* selectionOnly() const { return selectionOnly_; }
  QSlider* wipeSlider() const { return wipe_; }
  QPushButton* acceptButton() const { return accept_; }

 Q_SIGNALS:
  void accepted(const setok::io::Image& before, const setok::io::Image& after);
  void drawn(const setok::io::Image& picture, const QString& prompt);
  void finished();  // a request came back, whatever its status (after the panel has shown it)

 private:
  engine::EditRequest request() const;  // seed, guidance and steps from the controls
  void submit(engine::EditRequest r, const QString& what);
  void onEdited(const EditPtr& r);
  void showWipe();
  void setStatus(const QString& text, bool error);
  void updateButtons();

  ImageCanvas* canvas_;
  EngineBridge* bridge_ = nullptr;
  io::Image before_, after_;
  io::Image drawn_;  // the last picture drawn from a prompt (Save result… writes it when there is no preview)
  std::function<std::vector<std::uint8_t>()> selection_;
  quint64 pending_ = 0;
  bool pendingDraw_ = false;
  QString pendingPrompt_;
  EditPtr last_;
  QLineEdit *instruction_, *prompt_;
  QCheckBox* selectionOnly_;
  QSpinBox *seed_, *steps_;
  QDoubleSpinBox* cfg_;
  QPushButton *preview_, *cancel_, *accept_, *discard_, *save_, *draw_;
  QSlider* wipe_;
  QProgressBar* progress_;
  QLabel* status_;
  bool statusError_ = false;
};

}  // namespace setok::ui
