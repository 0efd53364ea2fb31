#pragma once
#include <optional>
// The studio's main window: the canvas (or the comparison view) in the middle, the task panels
// docked around it, and the engine bridge that does all model work off the GUI thread.
#include <QElapsedTimer>
#include <QMainWindow>
#include <QSet>
#include <QStringList>

#include "core/io/image.h"
#include "ui/engine_bridge.h"

class QAction;
class QLabel;
class QMenu;
class QDockWidget;
class QProgressBar;
class QSettings;
class QPushButton;
class QStackedWidget;
class QTimer;
class QUndoStack;

namespace setok::ui {

class ComparisonView;
class ImageCanvas;
class TokensPanel;
class TrainPanel;
class ModelsPanel;
class ChatPanel;
class SegmentPanel;
class EditPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Loads an image and starts tokenizing it; on failure returns false and puts the one-line
  // reason in *error.
  bool loadImage(const QString& path, QString* error);
  // As loadImage, but tells the user in a dialog when it fails.
  bool openImage(const QString& path);
  // A picture made here (drawn from a prompt) becomes the image, not yet saved anywhere.
  void openPicture(const io::Image& picture, const QString& name);
  // The window's image becomes `img` (an accepted edit, its undo): the canvas, the tools and a new
  // tokenization follow; the file and the undo history stay.
  void showImage(io::Image img, const QString& name);
  // The name the image goes by (its file's, or "drawn" for a picture not saved).
  QString imageName() const;
  // What the Edit tool's "Only the selection" confines an edit to: the Segment tool's current mask,
  // else the selected tokens' pixels; empty when neither.
  std::vector<std::uint8_t> editSelection() const;
  QString currentPath() const { return currentPath_; }
  ImageCanvas* canvas() const { return canvas_; }
  TokensPanel* tokensPanel() const { return tokens_; }
  ComparisonView* comparisonView() const { return compare_; }
  EngineBridge* bridge() const { return bridge_; }
  QUndoStack* undoStack() const { return undo_; }
  QDockWidget* panel(const QString& name) const;
  QStringList recentFiles() const;
  // The tokens on screen (null before the first result for the current image).
  TokenizePtr currentTokens() const { return shown_; }
  // The settings the user set, or none: then every request uses the loaded model's own (its
  // config.json "cluster", e.g. a calibrated σ and β), and the Tokens panel shows those.
  std::optional<tokenizer::ClusterParams> clusterParams() const { return params_; }
  bool comparing() const;
  // View > Show Reconstruction: the canvas draws the tokens' reconstruction in place of the image.
  bool showingReconstruction() const;
  QProgressBar* progressBar() const { return progress_; }

  // Exports of the tokens on screen; false with the one-line reason in *error.
  bool exportIndexMap(const QString& path, QString* error);
  bool exportCocoJson(const QString& path, QString* error);
  bool exportOverlay(const QString& path, QString* error);

 public Q_SLOTS:
  // Tokenizes with the SeTok model in a folder from now on and re-tokenizes the current image.
  void openModel(const QString& dir);
  void openDialog();
  void clearRecent();
  void setClusterParams(const setok::tokenizer::ClusterParams& params);
  void retokenize();
  void cancelRequests();
  void setComparing(bool on);
  void setShowingReconstruction(bool on);
  void selectTokens(const QSet<int>& tokens);  // an undoable selection change
  void copyOverlay();

 Q_SIGNALS:
  // A result for the current image is on screen (the canvas painted it).
  void tokensShown(setok::ui::TokenizePtr result);
  void comparisonShown(setok::ui::ComparePtr result);

 protected:
  void closeEvent(QCloseEvent* e) override;
  void showEvent(QShowEvent* e) override;

 private:
  friend class SelectionCommand;
  // The constructor's steps, in order.
  void buildCentralArea();                     // the canvas and comparison view, stacked
  void applyViewSettings(const QSettings& s);  // the overlay settings the user saved
  void buildPanels();
  QWidget* buildEditTools(QDockWidget* dock);  // the Segment tool and the Edit tool, one tab each
  void buildMenus();                           // File, Edit, View, Tokens
  void buildFileMenu();
  void buildEditMenu();
  void buildViewMenu();
  void buildTokensMenu();
  void buildStatusBar();
  void startStatusUpdates();  // device label and memory readout
  void buildRequestTimers();  // progress display and debounce, with the bridge's wiring
  void connectCanvas();
  void connectTokensPanel();
  void addRecent(const QString& path);
  void rebuildRecentMenu();
  void refreshStatus();
  void connectBridge();
  void applySelection(const QSet<int>& tokens);
  void onTokenized(const TokenizePtr& r);
  void onCompared(const ComparePtr& r);
  void showError(const QString& title, const QString& reason);
  void exportWithDialog(const QString& title, const QString& filter, const QString& suffix,
                        bool (MainWindow::*fn)(const QString&, QString*));
  void saveTokenSettings() const;
  void showModelParams();  // the Tokens panel shows the current model's own cluster settings

  ImageCanvas* canvas_ = nullptr;
  ComparisonView* compare_ = nullptr;
  QStackedWidget* centre_ = nullptr;
  TokensPanel* tokens_ = nullptr;
  TrainPanel* train_ = nullptr;
  ChatPanel* chat_ = nullptr;
  ModelsPanel* models_ = nullptr;
  SegmentPanel* segment_ = nullptr;  // the Segment tool, in the Edit dock
  EditPanel* edit_ = nullptr;        // the Edit tool, below it
  QString modelDir_;
  bool dockSizesSet_ = false;  // restored from the settings, or set on first show

 public:
  ModelsPanel* modelsPanel() const { return models_; }
  TrainPanel* trainPanel() const { return train_; }
  ChatPanel* chatPanel() const { return chat_; }
  SegmentPanel* segmentPanel() const { return segment_; }
  EditPanel* editPanel() const { return edit_; }
  QString modelDir() const { return modelDir_; }

 private:
  EngineBridge* bridge_ = nullptr;
  QUndoStack* undo_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QAction* compareAction_ = nullptr;
  QAction* reconstructionAction_ = nullptr;
  QAction* hudAction_ = nullptr;
  QLabel* imageLabel_ = nullptr;
  QLabel* tokenLabel_ = nullptr;
  QLabel* zoomLabel_ = nullptr;
  QLabel* deviceLabel_ = nullptr;
  QLabel* memoryLabel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QTimer* debounce_ = nullptr;
  QTimer* showProgress_ = nullptr;
  QString currentPath_;
  io::Image image_;
  std::optional<tokenizer::ClusterParams> params_;
  TokenizePtr shown_;
  quint64 firstIdForImage_ = 0, lastTokenizeId_ = 0, lastCompareId_ = 0;
  QElapsedTimer sinceChange_;  // from the first parameter change not yet on screen
  bool pendingShown_ = false;
};

}  // namespace setok::ui
