#pragma once
// The Segment tool in the Edit dock (issue 42): an expression field, the decoder's candidate masks
// with their predicted IoU, the image's named masks, the tool's modes (Click, Brush, Eraser, Start
// from token) with the brush size, undo and redo, and the exports (PNG index map, COCO RLE). Errors
// go to the panel's status line, never to a dialog. The masks live in a core/edit MaskDocument, the
// engine traffic in SegmentSession, the canvas work in SegmentTool; this file is the widgets.
#include <QString>
#include <QWidget>

#include "core/edit/mask_document.h"
#include "ui/engine_bridge.h"
#include "ui/segment_tool.h"

class QAbstractButton;
class QButtonGroup;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSlider;
class QVBoxLayout;

namespace setok::ui {

class ImageCanvas;
class SegmentSession;

class SegmentPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SegmentPanel(ImageCanvas* canvas, QWidget* parent = nullptr);
  ~SegmentPanel() override;

  void setBridge(EngineBridge* bridge);
  // A new image (the window opened `path`): no masks, and its encoding starts in the background.
  void setImage(const io::Image& image, const QString& path);
  // The tool takes the canvas's pointer while the panel is shown.
  void setActive(bool on);
  bool isActive() const;

  edit::MaskDocument& document() { return doc_; }
  SegmentSession* session() const { return session_; }
  SegmentTool* tool() const { return tool_; }
  void setMode(SegmentTool::Mode mode);
  SegmentTool::Mode mode() const;

  // What the panel's controls do, callable directly (tests, menus). Each reports in the status line.
  void segmentExpression();  // the expression field's text
  void undo();
  void redo();
  void addMask();
  void renameMask(int index, const QString& name);
  void deleteMask(int index);
  void pickCandidate(int candidate);  // one of the last result's masks becomes the current mask
  void startFromToken(int token);     // the SeTok token's mask becomes the current mask
  // A mask drawn elsewhere (a chat's [SEG] answer) joins the masks as a new one, selected; ignored
  // with a message when its size is not the image's.
  void addMaskFrom(const QString& name, const std::vector<std::uint8_t>& mask, int width, int height);
  void setBrushRadius(int imagePixels);
  // False with the one-line reason in *error (also shown in the status line).
  bool exportPng(const QString& path, QString* error = nullptr);
  bool exportRle(const QString& path, QString* error = nullptr);
  void exportPngWithDialog();
  void exportRleWithDialog();

  QString statusText() const;
  bool statusIsError() const { return statusError_; }
  QLineEdit* expressionField() const { return expression_; }
  QPushButton* segmentButton() const { return segment_; }
  QListWidget* candidateList() const { return candidates_; }
  QListWidget* maskList() const { return masks_; }
  QSlider* sizeSlider() const { return size_; }
  QAbstractButton* modeButton(SegmentTool::Mode mode) const;
  QAbstractButton* undoButton() const { return undo_; }
  QAbstractButton* redoButton() const { return redo_; }
  // The result whose candidates the list shows (null before the first).
  SegmentPtr lastResult() const { return shownResult_; }

 Q_SIGNALS:
  void masksChanged();                              // any change to the masks, undo and redo included
  void resultShown(setok::ui::SegmentPtr outcome);  // a decoder result became a mask
  void previewShown(setok::ui::SegmentPtr outcome);
  void statusChanged(const QString& text, bool error);

 protected:
  // Ctrl+Z / Ctrl+Shift+Z undo and redo the masks while the focus is in the panel (a text field
  // keeps its own).
  bool event(QEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;

 private:
  // The constructor's steps, top to bottom.
  void addExpressionRow(QVBoxLayout* v);
  void addToolRows(QVBoxLayout* v);
  void addCandidateList(QVBoxLayout* v);
  void addMaskList(QVBoxLayout* v);
  void addExportRow(QVBoxLayout* v);
  void connectTool();
  void connectSession();

  void refresh();  // the mask list and undo buttons after any change to the document
  void showCandidates(const SegmentPtr& r, quint32 maskId);
  void showResultStatus(const SegmentPtr& r, quint32 maskId);
  void showStatus(const QString& text, bool error);
  void onStroke(const QPolygonF& path, float radius, bool erase);
  bool exportWith(const QString& path, QString* error, bool png);
  void exportWithDialog(const QString& title, const QString& filter, const QString& suffix, bool png);

  edit::MaskDocument doc_;
  ImageCanvas* canvas_;
  SegmentSession* session_ = nullptr;
  SegmentTool* tool_ = nullptr;
  QString imagePath_;  // its file name goes into the COCO export; its folder is the exports' default
  SegmentPtr shownResult_;
  quint32 shownMask_ = 0;
  SegmentTool::Mode modeBeforePick_ = SegmentTool::Mode::kClick;
  bool quiet_ = false;  // set while the panel fills its own lists
  bool statusError_ = false;

  QLineEdit* expression_ = nullptr;
  QPushButton* segment_ = nullptr;
  QButtonGroup* modes_ = nullptr;
  QSlider* size_ = nullptr;
  QLabel* sizeLabel_ = nullptr;
  QAbstractButton* undo_ = nullptr;
  QAbstractButton* redo_ = nullptr;
  QListWidget* candidates_ = nullptr;
  QListWidget* masks_ = nullptr;
  QLabel* status_ = nullptr;
};

}  // namespace setok::ui
