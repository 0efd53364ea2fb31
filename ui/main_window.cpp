#include "ui/main_window.h"

#include "ui/chat_panel.h"
#include "ui/edit_panel.h"
#include "ui/models_panel.h"
#include "ui/qimage_convert.h"
#include "ui/segment_panel.h"
#include "ui/train_panel.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/token_export.h"
#include "core/tokenizer/token_overlay.h"
#include "ui/comparison_view.h"
#include "ui/image_canvas.h"
#include "ui/tokens_panel.h"

namespace setok::ui {

// One selection change: undo puts the previous selection back.
class SelectionCommand : public QUndoCommand {
 public:
  SelectionCommand(MainWindow* w, QSet<int> before, QSet<int> after)
      : w_(w), before_(std::move(before)), after_(std::move(after)) {
    setText(after_.isEmpty() ? QObject::tr("Clear Selection") : QObject::tr("Select %n Token(s)", "", after_.size()));
  }
  void undo() override { w_->applySelection(before_); }
  void redo() override { w_->applySelection(after_); }

 private:
  MainWindow* w_;
  QSet<int> before_, after_;
};

// An accepted edit: undo puts the picture before it back, redo the edited one.
class ImageEditCommand : public QUndoCommand {
 public:
  ImageEditCommand(MainWindow* w, io::Image before, io::Image after)
      : w_(w), before_(std::move(before)), after_(std::move(after)) {
    setText(QObject::tr("Edit Image"));
  }
  void undo() override { w_->showImage(before_, w_->imageName()); }
  void redo() override { w_->showImage(after_, w_->imageName()); }

 private:
  MainWindow* w_;
  io::Image before_, after_;
};

namespace {

constexpr int kMaxRecent = 10;
constexpr int kDebounceMs = 50;       // live parameter changes: one request per pause in the drag
constexpr int kShowProgressMs = 300;  // quicker work needs no progress bar

struct PanelSpec {
  const char* name;
  const char* text;
  Qt::DockWidgetArea area;
};

// What each panel will hold; until then the panel says so. Tokens is the inspector itself.
constexpr PanelSpec kPanels[] = {
    {"Tokens", "", Qt::RightDockWidgetArea},
    {"Chat", "Image chat with SeTokim: ask about the image, streaming answers that point back at the tokens they used.",
     Qt::RightDockWidgetArea},
    {"Edit", "", Qt::RightDockWidgetArea},  // the Segment tool
    {"Train", "Training: pick a dataset and config, launch CPU or GPU runs, and follow every loss live.",
     Qt::BottomDockWidgetArea},
    {"Models", "Model manager: bundled and user models, their size and parameters, load and unload.",
     Qt::BottomDockWidgetArea},
};

// A panel in a scroll area that never scrolls sideways, as wide as the panel needs.
QScrollArea* scrolled(QWidget* panel, const QString& name) {
  auto* scroll = new QScrollArea;
  scroll->setObjectName(name);
  scroll->setWidget(panel);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setMinimumWidth(panel->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
  return scroll;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("SeTok Studio"));
  setObjectName("MainWindow");
  bridge_ = new EngineBridge(this);
  undo_ = new QUndoStack(this);
  buildCentralArea();

  QSettings s;
  applyViewSettings(s);
  buildPanels();
  buildMenus();
  buildStatusBar();
  startStatusUpdates();
  buildRequestTimers();
  connectCanvas();
  connectTokensPanel();

  showModelParams();  // the Tokens panel shows the model's settings before any image opens
  restoreGeometry(s.value("window/geometry").toByteArray());
  dockSizesSet_ = restoreState(s.value("window/state").toByteArray());
  if (!s.contains("window/geometry")) resize(1280, 800);
}

void MainWindow::buildCentralArea() {
  canvas_ = new ImageCanvas(this);
  compare_ = new ComparisonView(this);
  // The canvas lives in the stack from the start: moving a QOpenGLWidget later would recreate
  // its GL context.
  centre_ = new QStackedWidget(this);
  centre_->addWidget(canvas_);
  centre_->addWidget(compare_);
  setCentralWidget(centre_);
  connect(canvas_, &ImageCanvas::filesDropped, this, [this](const QStringList& paths) { openImage(paths.first()); });
  setAcceptDrops(true);
}

void MainWindow::applyViewSettings(const QSettings& s) {
  // Cluster settings are the model's until the user changes one (they are not remembered across
  // sessions: they belong to a model, and the next session may load another).
  canvas_->setOpacity(s.value("tokens/opacity", 0.45).toFloat());
  canvas_->setOutline(s.value("tokens/outline", true).toBool());
  bridge_->setPixelEdges(s.value("tokens/pixel_edges", false).toBool());
  canvas_->setHudVisible(s.value("tokens/hud", true).toBool());
  canvas_->setHeat(static_cast<ImageCanvas::Heat>(std::clamp(s.value("tokens/heat", 0).toInt(), 0, 2)));
}

void MainWindow::buildStatusBar() {
  imageLabel_ = new QLabel(this);
  tokenLabel_ = new QLabel(this);
  zoomLabel_ = new QLabel(this);
  deviceLabel_ = new QLabel(this);
  memoryLabel_ = new QLabel(this);
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 100);
  progress_->setMaximumWidth(160);
  progress_->setVisible(false);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setVisible(false);
  cancel_->setToolTip(tr("Stop the running request (Ctrl+.)"));
  connect(cancel_, &QPushButton::clicked, this, &MainWindow::cancelRequests);
  statusBar()->addWidget(imageLabel_);
  statusBar()->addWidget(tokenLabel_, 1);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);
  statusBar()->addPermanentWidget(zoomLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);
  statusBar()->addPermanentWidget(memoryLabel_);
  connect(canvas_, &ImageCanvas::zoomChanged, this,
          [this](double z) { zoomLabel_->setText(tr("%1%").arg(qRound(z * 100))); });
}

// The device once; the memory in use every second.
void MainWindow::startStatusUpdates() {
  CudaInfo cuda = cuda_info();
  deviceLabel_->setText(cuda.torch_cuda ? tr("CUDA (%1 device(s))").arg(cuda.torch_devices)
                                        : tr("CPU, %1 threads").arg(intra_op_threads()));
  auto* timer = new QTimer(this);
  connect(timer, &QTimer::timeout, this, &MainWindow::refreshStatus);
  timer->start(1000);
  refreshStatus();
}

// The progress bar shows only for slower work; live parameter changes are debounced.
void MainWindow::buildRequestTimers() {
  showProgress_ = new QTimer(this);
  showProgress_->setSingleShot(true);
  showProgress_->setInterval(kShowProgressMs);
  connect(showProgress_, &QTimer::timeout, this, [this] {
    progress_->setValue(0);
    progress_->setVisible(true);
    cancel_->setVisible(true);
  });
  connectBridge();
  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(kDebounceMs);
  connect(debounce_, &QTimer::timeout, this, [this] {
    if (image_.empty()) return;
    lastTokenizeId_ = bridge_->tokenize(image_, params_, true);
    if (comparing()) lastCompareId_ = bridge_->compare(image_, params_);
  });
}

// Canvas → undo stack, status bar and settings.
void MainWindow::connectCanvas() {
  connect(canvas_, &ImageCanvas::overlayPainted, this, [this] {
    if (!pendingShown_) return;
    pendingShown_ = false;
    if (sinceChange_.isValid()) {
      canvas_->setLatency(sinceChange_.nsecsElapsed() / 1e6);
      sinceChange_.invalidate();
    }
    Q_EMIT tokensShown(shown_);
  });
  connect(canvas_, &ImageCanvas::tokenClicked, this, [this](int t, bool additive) {
    QSet<int> next = additive ? canvas_->selection() : QSet<int>();
    if (t >= 0) {
      if (additive && next.contains(t)) next.remove(t);
      else next.insert(t);
    }
    selectTokens(next);
  });
  connect(canvas_, &ImageCanvas::tokenHovered, this, [this](int t) {
    const auto* r = canvas_->tokens();
    if (t < 0 || !r) {
      tokenLabel_->clear();
      return;
    }
    const auto& s = r->tokens[t];
    tokenLabel_->setText(tr("token %1 · area %2 px · bbox %3,%4 %5×%6 · seed score %7 · density %8")
                             .arg(t)
                             .arg(s.stat.area)
                             .arg(s.stat.x)
                             .arg(s.stat.y)
                             .arg(s.stat.w)
                             .arg(s.stat.h)
                             .arg(s.seed_score, 0, 'g', 3)
                             .arg(s.density, 0, 'g', 3));
  });
  connect(canvas_, &ImageCanvas::heatChanged, this,
          [](ImageCanvas::Heat h) { QSettings().setValue("tokens/heat", static_cast<int>(h)); });
}

// Tokens panel → canvas, engine and undo stack.
void MainWindow::connectTokensPanel() {
  connect(tokens_, &TokensPanel::selectionEdited, this, &MainWindow::selectTokens);
  connect(tokens_, &TokensPanel::paramsEdited, this, &MainWindow::setClusterParams);
  connect(tokens_, &TokensPanel::opacityChanged, this, [this](float o) {
    canvas_->setOpacity(o);
    saveTokenSettings();
  });
  connect(tokens_, &TokensPanel::outlineChanged, this, [this](bool on) {
    canvas_->setOutline(on);
    saveTokenSettings();
  });
  connect(tokens_, &TokensPanel::pixelEdgesChanged, this, [this](bool on) {
    bridge_->setPixelEdges(on);
    saveTokenSettings();
    retokenize();
  });
  connect(tokens_, &TokensPanel::compareRequested, this, [this] { setComparing(true); });
}

// The docks' first sizes are shares of the window as it first shows (not of the size before it
// is laid out): the training charts get room for their axes and legend, the canvas the rest.
void MainWindow::showEvent(QShowEvent* e) {
  QMainWindow::showEvent(e);
  if (dockSizesSet_) return;
  dockSizesSet_ = true;
  // At least the charts' room, at most what leaves the canvas a usable height.
  resizeDocks({panel("Train")}, {std::min(std::max(230, height() * 3 / 10), std::max(150, height() - 420))},
              Qt::Vertical);
  resizeDocks({panel("Tokens")}, {std::clamp(width() / 4, 300, 480)}, Qt::Horizontal);
}

MainWindow::~MainWindow() {
  // The bridge joins the worker; results it still posts die with it, before the widgets go.
  delete bridge_;
  bridge_ = nullptr;
}

void MainWindow::buildPanels() {
  for (const auto& spec : kPanels) {
    auto* dock = new QDockWidget(tr(spec.name), this);
    dock->setObjectName(QString("panel.") + spec.name);
    if (QString(spec.name) == "Tokens") {
      tokens_ = new TokensPanel;
      tokens_->setOpacity(canvas_->opacity());
      tokens_->setOutline(canvas_->outline());
      tokens_->setPixelEdges(bridge_->pixelEdges());
      // It scrolls up and down: its settings and token list would otherwise set the window's least
      // height (a first-run window came out taller than asked).
      dock->setWidget(scrolled(tokens_, "tokensScroll"));
    } else if (QString(spec.name) == "Models") {
      models_ = new ModelsPanel(dock);
      connect(models_, &ModelsPanel::loadRequested, this, &MainWindow::openModel);
      dock->setWidget(models_);
    } else if (QString(spec.name) == "Chat") {
      chat_ = new ChatPanel(bridge_, dock);
      connect(chat_, &ChatPanel::highlightChanged, canvas_, &ImageCanvas::setHighlight);
      connect(chat_, &ChatPanel::errorOccurred, this, [this](const QString& m) { showError(tr("Chat"), m); });
      const QString model = qEnvironmentVariable("SETOK_CHAT_MODEL", ChatPanel::defaultModel());
      if (!model.isEmpty()) chat_->loadModel(model);
      dock->setWidget(chat_);
    } else if (QString(spec.name) == "Edit") {
      dock->setWidget(buildEditTools(dock));
    } else if (QString(spec.name) == "Train") {
      train_ = new TrainPanel(dock);
      connect(train_, &TrainPanel::openModelRequested, this, &MainWindow::openModel);
      dock->setWidget(train_);
    } else {
      auto* label = new QLabel(tr(spec.text), dock);
      label->setWordWrap(true);
      label->setAlignment(Qt::AlignTop | Qt::AlignLeft);
      label->setMargin(12);
      label->setEnabled(false);  // greyed: nothing to use yet
      dock->setWidget(label);
    }
    addDockWidget(spec.area, dock);
  }
  // A chat answer that is [SEG] gives the Segment tool a mask to touch up and export.
  connect(chat_, &ChatPanel::maskAnswered, segment_, &SegmentPanel::addMaskFrom);
  tabifyDockWidget(panel("Tokens"), panel("Chat"));
  tabifyDockWidget(panel("Chat"), panel("Edit"));
  tabifyDockWidget(panel("Train"), panel("Models"));
  // The side panels run the window's full height (their token list and chat log are long); the
  // training panel sits under the canvas.
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  panel("Tokens")->raise();
  panel("Train")->raise();
}

QWidget* MainWindow::buildEditTools(QDockWidget* dock) {
  auto* tabs = new QTabWidget(dock);
  tabs->setObjectName("editTools");
  segment_ = new SegmentPanel(canvas_);
  segment_->setBridge(bridge_);
  edit_ = new EditPanel(canvas_);
  edit_->setBridge(bridge_);
  edit_->setSelectionSource([this] { return editSelection(); });
  tabs->addTab(scrolled(segment_, "segmentScroll"), tr("Segment"));
  tabs->addTab(scrolled(edit_, "editScroll"), tr("Edit && draw"));
  // The Segment tool has the canvas's pointer while the dock's tab and its own tab are the ones showing.
  auto shown = std::make_shared<bool>(false);
  connect(dock, &QDockWidget::visibilityChanged, this, [this, shown, tabs](bool visible) {
    *shown = visible;
    segment_->setActive(visible && tabs->currentIndex() == 0);
  });
  connect(tabs, &QTabWidget::currentChanged, this, [this, shown](int tab) { segment_->setActive(*shown && tab == 0); });
  connect(edit_, &EditPanel::accepted, this, [this](const io::Image& before, const io::Image& after) {
    undo_->push(new ImageEditCommand(this, before, after));
  });
  connect(edit_, &EditPanel::drawn, this,
          [this](const io::Image& picture, const QString& prompt) { openPicture(picture, prompt); });
  return tabs;
}

void MainWindow::connectBridge() {
  // Engine traffic. Results come back on this thread, in the order they were asked for.
  connect(bridge_, &EngineBridge::tokenized, this, &MainWindow::onTokenized);
  connect(bridge_, &EngineBridge::compared, this, &MainWindow::onCompared);
  connect(bridge_, &EngineBridge::busyChanged, this, [this](bool busy) {
    if (busy) {
      showProgress_->start();
    } else {
      showProgress_->stop();
      progress_->setVisible(false);
      cancel_->setVisible(false);
    }
  });
  connect(bridge_, &EngineBridge::progress, this, [this](quint64, float f) { progress_->setValue(qRound(f * 100)); });
}

void MainWindow::openModel(const QString& dir) {
  // The engine swaps the SeTok model in order: what is in flight finishes (cancelled) with the old
  // one, later requests get the new one. The SeTokim and the Chat panel's conversation stay.
  bridge_->cancelAll();
  bridge_->useSetokModel(dir);
  modelDir_ = dir;
  params_.reset();  // the new model's own cluster settings
  showModelParams();
  if (models_) {
    // A model opened from elsewhere (the Train panel's result) joins the list, so it can be chosen again.
    if (!dir.isEmpty() && models_->rowOf(dir) < 0) models_->addFolder(dir, nullptr);
    models_->refresh();
    models_->setActive(dir);
  }
  if (image_.empty()) return;
  // The canvas keeps the old model's tokens only until the new model's arrive; results are told
  // apart from older ones by id, and every request from here on has a newer one.
  firstIdForImage_ = lastTokenizeId_ = bridge_->tokenize(image_, params_);
  if (comparing()) {
    compare_->setPending(true);
    lastCompareId_ = bridge_->compare(image_, params_);
  }
}

void MainWindow::showModelParams() {
  try {
    tokens_->setParams(engine::model_cluster_params(modelDir_.toStdString()));
  } catch (const std::exception&) {
    // A model whose config cannot be read fails with its own message when it is first used.
  }
}

QDockWidget* MainWindow::panel(const QString& name) const { return findChild<QDockWidget*>(QString("panel.") + name); }

void MainWindow::buildMenus() {
  buildFileMenu();
  buildEditMenu();
  buildViewMenu();
  buildTokensMenu();
}

void MainWindow::buildFileMenu() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Image…"), this, &MainWindow::openDialog);
  open->setShortcut(QKeySequence::Open);
  recentMenu_ = file->addMenu(tr("Open &Recent"));
  file->addSeparator();
  QMenu* exp = file->addMenu(tr("&Export Tokens"));
  exp->addAction(tr("Masks as PNG &Index Map…"), this,
                 [this] {
                   exportWithDialog(tr("Export Index Map"), tr("PNG index map (*.png)"), "-tokens.png",
                                    &MainWindow::exportIndexMap);
                 })
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  exp->addAction(tr("Masks as &COCO RLE JSON…"), this,
                 [this] {
                   exportWithDialog(tr("Export COCO RLE"), tr("COCO JSON (*.json)"), "-tokens.json",
                                    &MainWindow::exportCocoJson);
                 })
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  exp->addAction(tr("&Overlay Image…"), this, [this] {
    exportWithDialog(tr("Export Overlay"), tr("PNG image (*.png)"), "-overlay.png", &MainWindow::exportOverlay);
  });
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  rebuildRecentMenu();
}

void MainWindow::buildEditMenu() {
  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  QAction* undo = undo_->createUndoAction(this, tr("&Undo"));
  undo->setShortcut(QKeySequence::Undo);
  QAction* redo = undo_->createRedoAction(this, tr("&Redo"));
  redo->setShortcut(QKeySequence::Redo);
  edit->addAction(undo);
  edit->addAction(redo);
  edit->addSeparator();
  edit->addAction(tr("Copy &Overlay"), this, &MainWindow::copyOverlay)->setShortcut(QKeySequence::Copy);
  edit->addAction(tr("Select &All Tokens"), this,
                  [this] {
                    QSet<int> all;
                    if (shown_)
                      for (int i = 0; i < static_cast<int>(shown_->tokens.size()); ++i) all.insert(i);
                    selectTokens(all);
                  })
      ->setShortcut(QKeySequence::SelectAll);
  edit->addAction(tr("&Clear Selection"), this, [this] { selectTokens({}); })
      ->setShortcut(QKeySequence(Qt::Key_Escape));
}

void MainWindow::buildViewMenu() {
  QMenu* view = menuBar()->addMenu(tr("&View"));
  QAction* zin = view->addAction(tr("Zoom &In"), canvas_, &ImageCanvas::zoomIn);
  zin->setShortcuts({QKeySequence::ZoomIn, QKeySequence(Qt::CTRL | Qt::Key_Equal)});
  QAction* zout = view->addAction(tr("Zoom &Out"), canvas_, &ImageCanvas::zoomOut);
  zout->setShortcut(QKeySequence::ZoomOut);
  QAction* fit = view->addAction(tr("&Fit to Window"), canvas_, &ImageCanvas::fitToWindow);
  fit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  QAction* one = view->addAction(tr("&Actual Size"), canvas_, &ImageCanvas::actualSize);
  one->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
  view->addSeparator();
  QAction* outline = view->addAction(tr("Token O&utlines"));
  outline->setCheckable(true);
  outline->setChecked(canvas_->outline());
  outline->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  connect(outline, &QAction::toggled, this, [this](bool on) {
    canvas_->setOutline(on);
    tokens_->setOutline(on);
    saveTokenSettings();
  });
  connect(tokens_, &TokensPanel::outlineChanged, outline, &QAction::setChecked);
  hudAction_ = view->addAction(tr("&Heads-up Display"));
  hudAction_->setCheckable(true);
  hudAction_->setChecked(canvas_->hudVisible());
  hudAction_->setShortcut(QKeySequence(Qt::Key_F2));
  connect(hudAction_, &QAction::toggled, this, [this](bool on) {
    canvas_->setHudVisible(on);
    saveTokenSettings();
  });
  view->addAction(
          tr("Cycle &Heat Map"), this,
          [this] { canvas_->setHeat(static_cast<ImageCanvas::Heat>((static_cast<int>(canvas_->heat()) + 1) % 3)); })
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_H));
  reconstructionAction_ = view->addAction(tr("Show &Reconstruction"));
  reconstructionAction_->setCheckable(true);
  reconstructionAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  reconstructionAction_->setStatusTip(tr("The detokenizer's picture of the tokens in place of the image"));
  connect(reconstructionAction_, &QAction::toggled, this, &MainWindow::setShowingReconstruction);
  compareAction_ = view->addAction(tr("&Compare: Patch Grid and Fixed K"));
  compareAction_->setCheckable(true);
  compareAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_K));
  connect(compareAction_, &QAction::toggled, this, &MainWindow::setComparing);
  view->addSeparator();
  QMenu* panels = view->addMenu(tr("&Panels"));
  for (const auto& spec : kPanels) panels->addAction(panel(spec.name)->toggleViewAction());
}

void MainWindow::buildTokensMenu() {
  QMenu* tokens = menuBar()->addMenu(tr("&Tokens"));
  tokens->addAction(tr("&Re-tokenize"), this, &MainWindow::retokenize)->setShortcut(QKeySequence(Qt::Key_F5));
  tokens->addAction(tr("&Cancel"), this, &MainWindow::cancelRequests)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  tokens
      ->addAction(tr("Fewer Tokens"), this,
                  [this] {
                    auto p = params_.value_or(tokens_->params());
                    p.max_tokens = std::max(1, p.max_tokens - 1);
                    tokens_->setParams(p);
                    setClusterParams(p);
                  })
      ->setShortcut(QKeySequence(Qt::Key_BracketLeft));
  tokens
      ->addAction(tr("More Tokens"), this,
                  [this] {
                    auto p = params_.value_or(tokens_->params());
                    p.max_tokens = std::min(64, p.max_tokens + 1);
                    tokens_->setParams(p);
                    setClusterParams(p);
                  })
      ->setShortcut(QKeySequence(Qt::Key_BracketRight));
}

bool MainWindow::loadImage(const QString& path, QString* error) {
  io::Image img;
  try {
    // Decoding stays here: it is bounded I/O, not model code, and a bad file must be reported
    // before the current image is replaced.
    img = io::load_image(path.toStdString());
  } catch (const setok::Error& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  } catch (const std::exception& e) {
    if (error) *error = path + ": " + QString::fromStdString(e.what());
    return false;
  }
  undo_->clear();
  currentPath_ = path;
  QFileInfo fi(path);
  setWindowTitle(tr("%1 — SeTok Studio").arg(fi.fileName()));
  addRecent(fi.absoluteFilePath());
  showImage(std::move(img), fi.fileName());
  return true;
}

void MainWindow::showImage(io::Image img, const QString& name) {
  image_ = std::move(img);
  canvas_->setImage(to_qimage(image_));
  canvas_->setHighlight({}, 0, 0);
  if (chat_) chat_->setCanvasImage(image_, name);
  shown_.reset();
  tokens_->setResult(nullptr);
  compare_->setResult(nullptr);
  pendingShown_ = false;
  imageLabel_->setText(tr("%1  %2×%3").arg(name).arg(image_.width).arg(image_.height));
  bridge_->cancelAll();                      // whatever ran for the previous image is no longer wanted
  segment_->setImage(image_, currentPath_);  // no masks yet; the encoder starts in the background
  edit_->setImage(image_);
  firstIdForImage_ = lastTokenizeId_ = bridge_->tokenize(image_, params_);
  if (comparing()) {
    compare_->setPending(true);
    lastCompareId_ = bridge_->compare(image_, params_);
  }
}

QString MainWindow::imageName() const {
  return currentPath_.isEmpty() ? tr("drawn") : QFileInfo(currentPath_).fileName();
}

void MainWindow::openPicture(const io::Image& picture, const QString& name) {
  undo_->clear();
  currentPath_.clear();
  setWindowTitle(tr("%1 (not saved) — SeTok Studio").arg(name));
  showImage(picture, name);
}

std::vector<std::uint8_t> MainWindow::editSelection() const {
  if (const auto* m = segment_->document().current_mask()) return m->bits;
  const QSet<int>& tokens = canvas_->selection();
  if (tokens.isEmpty() || !shown_ || shown_->width != image_.width || shown_->height != image_.height) return {};
  std::vector<std::uint8_t> bits(shown_->map.size());
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = tokens.contains(shown_->map[i]) ? 1 : 0;
  return bits;
}

bool MainWindow::openImage(const QString& path) {
  QString error;
  if (loadImage(path, &error)) return true;
  showError(tr("Cannot open image"), error);
  return false;
}

void MainWindow::showError(const QString& title, const QString& reason) {
  QMessageBox::warning(this, title, reason.section('\n', 0, 0));
}

void MainWindow::onTokenized(const TokenizePtr& r) {
  if (r->id < firstIdForImage_) return;  // for an image no longer open
  if (r->status == engine::Status::kError) {
    showError(tr("Tokenizing failed"), QString::fromStdString(r->error));
    return;
  }
  if (!r->ok()) return;  // cancelled or superseded: a newer request is on its way, or none wanted
  if (r->width != image_.width || r->height != image_.height) return;  // asked for by someone else
  shown_ = r;
  if (!params_) tokens_->setParams(r->params);  // the model's own settings, as used
  canvas_->setTokens(r);
  tokens_->setResult(r);
  tokens_->setSelection(canvas_->selection());
  pendingShown_ = true;
  canvas_->update();
}

void MainWindow::onCompared(const ComparePtr& r) {
  if (r->id < firstIdForImage_) return;
  if (r->status == engine::Status::kError) {
    showError(tr("Comparison failed"), QString::fromStdString(r->error));
    return;
  }
  if (!r->ok()) return;
  compare_->setResult(r);
  Q_EMIT comparisonShown(r);
}

void MainWindow::setClusterParams(const tokenizer::ClusterParams& params) {
  try {
    params.validate();
  } catch (const Error& e) {
    showError(tr("Cluster parameters"), QString::fromStdString(e.what()));
    return;
  }
  params_ = params;
  saveTokenSettings();
  if (!sinceChange_.isValid()) sinceChange_.start();
  debounce_->start();  // restarts on every change: one request per pause
}

void MainWindow::retokenize() {
  if (image_.empty()) return;
  lastTokenizeId_ = bridge_->tokenize(image_, params_);
  if (comparing()) lastCompareId_ = bridge_->compare(image_, params_);
}

void MainWindow::cancelRequests() {
  debounce_->stop();
  bridge_->cancelAll();
}

void MainWindow::setShowingReconstruction(bool on) {
  if (reconstructionAction_->isChecked() != on) reconstructionAction_->setChecked(on);  // re-enters once
  if (bridge_->reconstruct() == on) return;
  bridge_->setReconstruct(on);
  canvas_->setShowReconstruction(on);
  // The tokens on screen were made without their picture: ask again (the features are cached).
  if (on && shown_ && shown_->reconstruction.empty()) retokenize();
}

bool MainWindow::showingReconstruction() const { return bridge_->reconstruct(); }

bool MainWindow::comparing() const { return centre_->currentWidget() == compare_; }

void MainWindow::setComparing(bool on) {
  if (compareAction_->isChecked() != on) compareAction_->setChecked(on);  // re-enters once
  if (comparing() == on) return;
  centre_->setCurrentWidget(on ? static_cast<QWidget*>(compare_) : canvas_);
  if (on && !image_.empty()) {
    compare_->setPending(true);
    lastCompareId_ = bridge_->compare(image_, params_);
  }
}

void MainWindow::selectTokens(const QSet<int>& tokens) {
  if (tokens == canvas_->selection()) return;
  undo_->push(new SelectionCommand(this, canvas_->selection(), tokens));
}

void MainWindow::applySelection(const QSet<int>& tokens) {
  canvas_->setSelection(tokens);
  tokens_->setSelection(tokens);
}

void MainWindow::saveTokenSettings() const {
  QSettings s;
  s.setValue("tokens/opacity", canvas_->opacity());
  s.setValue("tokens/outline", canvas_->outline());
  s.setValue("tokens/pixel_edges", bridge_->pixelEdges());
  s.setValue("tokens/hud", canvas_->hudVisible());
}

bool MainWindow::exportIndexMap(const QString& path, QString* error) {
  if (!shown_) {
    if (error) *error = tr("There are no tokens to export yet.");
    return false;
  }
  try {
    io::save_index_png(path.toStdString(), shown_->width, shown_->height, shown_->map);
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  return true;
}

bool MainWindow::exportCocoJson(const QString& path, QString* error) {
  if (!shown_) {
    if (error) *error = tr("There are no tokens to export yet.");
    return false;
  }
  try {
    tokenizer::save_coco_rle_json(path.toStdString(), QFileInfo(currentPath_).fileName().toStdString(), shown_->map,
                                  shown_->width, shown_->height, static_cast<int>(shown_->tokens.size()));
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  return true;
}

bool MainWindow::exportOverlay(const QString& path, QString* error) {
  if (!shown_) {
    if (error) *error = tr("There are no tokens to export yet.");
    return false;
  }
  try {
    io::save_png(path.toStdString(),
                 tokenizer::render_overlay(image_, shown_->map, canvas_->opacity(), canvas_->outline()));
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  return true;
}

void MainWindow::copyOverlay() {
  if (!shown_) return;
  QApplication::clipboard()->setImage(
      to_qimage(tokenizer::render_overlay(image_, shown_->map, canvas_->opacity(), canvas_->outline())));
  statusBar()->showMessage(tr("Overlay copied"), 2000);
}

void MainWindow::exportWithDialog(const QString& title, const QString& filter, const QString& suffix,
                                  bool (MainWindow::*fn)(const QString&, QString*)) {
  if (!shown_) {
    showError(title, tr("There are no tokens to export yet."));
    return;
  }
  QSettings s;
  const QFileInfo fi(currentPath_);
  const QString dir = s.value("files/exportDir", fi.absolutePath()).toString();
  QString path = QFileDialog::getSaveFileName(this, title, dir + "/" + fi.completeBaseName() + suffix, filter);
  if (path.isEmpty()) return;
  s.setValue("files/exportDir", QFileInfo(path).absolutePath());
  QString error;
  if (!(this->*fn)(path, &error)) showError(title, error);
}

void MainWindow::openDialog() {
  QSettings s;
  QString dir = s.value("files/lastDir").toString();
  QString path = QFileDialog::getOpenFileName(
      this, tr("Open Image"), dir,
      tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"));
  if (path.isEmpty()) return;
  s.setValue("files/lastDir", QFileInfo(path).absolutePath());
  openImage(path);
}

QStringList MainWindow::recentFiles() const { return QSettings().value("files/recent").toStringList(); }

void MainWindow::addRecent(const QString& path) {
  QStringList r = recentFiles();
  r.removeAll(path);
  r.prepend(path);
  while (r.size() > kMaxRecent) r.removeLast();
  QSettings().setValue("files/recent", r);
  rebuildRecentMenu();
}

void MainWindow::clearRecent() {
  QSettings().remove("files/recent");
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  const QStringList r = recentFiles();
  for (int i = 0; i < r.size(); ++i) {
    QAction* a = recentMenu_->addAction(QString("&%1 %2").arg((i + 1) % 10).arg(QFileInfo(r[i]).fileName()));
    a->setToolTip(r[i]);
    const QString p = r[i];
    connect(a, &QAction::triggered, this, [this, p] { openImage(p); });
  }
  if (!r.isEmpty()) recentMenu_->addSeparator();
  QAction* clear = recentMenu_->addAction(tr("Clear List"), this, &MainWindow::clearRecent);
  clear->setEnabled(!r.isEmpty());
}

void MainWindow::refreshStatus() { memoryLabel_->setText(tr("RSS %1 MiB").arg(resident_bytes() / (1024 * 1024))); }

void MainWindow::closeEvent(QCloseEvent* e) {
  if (train_ && !train_->confirmClose()) {
    e->ignore();
    return;
  }
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  e->accept();
}

}  // namespace setok::ui
