#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/runtime/system_info.h"
#include "ui/image_canvas.h"

namespace setok::ui {
namespace {

constexpr int kMaxRecent = 10;

struct PanelSpec {
  const char* name;
  const char* text;
  Qt::DockWidgetArea area;
};

// What each panel will hold; until then the panel says so.
constexpr PanelSpec kPanels[] = {
    {"Tokens",
     "Token inspector: the image's semantic tokens as coloured masks, a sortable token list, "
     "cluster parameters (cap, beta, bandwidth, mode) and the patch-grid / fixed-K comparison.",
     Qt::RightDockWidgetArea},
    {"Chat", "Image chat with SeTokim: ask about the image, streaming answers that point back at the tokens they used.",
     Qt::RightDockWidgetArea},
    {"Edit", "Instruction editing and referring segmentation: click a region or describe the change.",
     Qt::RightDockWidgetArea},
    {"Train", "Training: pick a dataset and config, launch CPU or GPU runs, and follow every loss live.",
     Qt::BottomDockWidgetArea},
    {"Models", "Model manager: bundled and user models, their size and parameters, load and unload.",
     Qt::BottomDockWidgetArea},
};

QImage to_qimage(const io::Image& img) {
  QImage q(img.width, img.height, QImage::Format_RGB888);
  for (int y = 0; y < img.height; ++y)
    std::memcpy(q.scanLine(y), img.rgb.data() + static_cast<std::size_t>(y) * img.width * 3,
                static_cast<std::size_t>(img.width) * 3);
  return q;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("SeTok Studio"));
  setObjectName("MainWindow");
  canvas_ = new ImageCanvas(this);
  setCentralWidget(canvas_);
  connect(canvas_, &ImageCanvas::filesDropped, this, [this](const QStringList& paths) { openImage(paths.first()); });
  setAcceptDrops(true);
  buildPanels();
  buildMenus();

  imageLabel_ = new QLabel(this);
  zoomLabel_ = new QLabel(this);
  deviceLabel_ = new QLabel(this);
  memoryLabel_ = new QLabel(this);
  statusBar()->addWidget(imageLabel_, 1);
  statusBar()->addPermanentWidget(zoomLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);
  statusBar()->addPermanentWidget(memoryLabel_);
  connect(canvas_, &ImageCanvas::zoomChanged, this,
          [this](double z) { zoomLabel_->setText(tr("%1%").arg(qRound(z * 100))); });

  CudaInfo cuda = cuda_info();
  deviceLabel_->setText(cuda.torch_cuda ? tr("CUDA (%1 device(s))").arg(cuda.torch_devices)
                                        : tr("CPU, %1 threads").arg(intra_op_threads()));
  auto* timer = new QTimer(this);
  connect(timer, &QTimer::timeout, this, &MainWindow::refreshStatus);
  timer->start(1000);
  refreshStatus();

  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  if (!s.contains("window/geometry")) resize(1280, 800);
}

void MainWindow::buildPanels() {
  for (const auto& spec : kPanels) {
    auto* dock = new QDockWidget(tr(spec.name), this);
    dock->setObjectName(QString("panel.") + spec.name);
    auto* label = new QLabel(tr(spec.text), dock);
    label->setWordWrap(true);
    label->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    label->setMargin(12);
    label->setEnabled(false);  // greyed: nothing to use yet
    dock->setWidget(label);
    addDockWidget(spec.area, dock);
  }
  tabifyDockWidget(panel("Tokens"), panel("Chat"));
  tabifyDockWidget(panel("Chat"), panel("Edit"));
  tabifyDockWidget(panel("Train"), panel("Models"));
  panel("Tokens")->raise();
  panel("Train")->raise();
}

QDockWidget* MainWindow::panel(const QString& name) const {
  return findChild<QDockWidget*>(QString("panel.") + name);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Image…"), this, &MainWindow::openDialog);
  open->setShortcut(QKeySequence::Open);
  recentMenu_ = file->addMenu(tr("Open &Recent"));
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  rebuildRecentMenu();

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
  QMenu* panels = view->addMenu(tr("&Panels"));
  for (const auto& spec : kPanels) panels->addAction(panel(spec.name)->toggleViewAction());
}

bool MainWindow::loadImage(const QString& path, QString* error) {
  try {
    io::Image img = io::load_image(path.toStdString());
    canvas_->setImage(to_qimage(img));
  } catch (const setok::Error& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  } catch (const std::exception& e) {
    if (error) *error = path + ": " + QString::fromStdString(e.what());
    return false;
  }
  currentPath_ = path;
  QFileInfo fi(path);
  setWindowTitle(tr("%1 — SeTok Studio").arg(fi.fileName()));
  imageLabel_->setText(tr("%1  %2×%3").arg(fi.fileName()).arg(canvas_->image().width()).arg(canvas_->image().height()));
  addRecent(fi.absoluteFilePath());
  return true;
}

bool MainWindow::openImage(const QString& path) {
  QString error;
  if (loadImage(path, &error)) return true;
  QMessageBox::warning(this, tr("Cannot open image"), error);
  return false;
}

void MainWindow::openDialog() {
  QSettings s;
  QString dir = s.value("files/lastDir").toString();
  QString path = QFileDialog::getOpenFileName(this, tr("Open Image"), dir,
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

void MainWindow::refreshStatus() {
  memoryLabel_->setText(tr("RSS %1 MiB").arg(resident_bytes() / (1024 * 1024)));
}

void MainWindow::closeEvent(QCloseEvent* e) {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  e->accept();
}

}  // namespace setok::ui
