#pragma once
// The studio's main window: the canvas in the middle, the task panels docked around it.
#include <QMainWindow>
#include <QStringList>

class QLabel;
class QMenu;
class QDockWidget;

namespace setok::ui {

class ImageCanvas;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // Loads an image; on failure returns false and puts the one-line reason in *error.
  bool loadImage(const QString& path, QString* error);
  // As loadImage, but tells the user in a dialog when it fails.
  bool openImage(const QString& path);
  QString currentPath() const { return currentPath_; }
  ImageCanvas* canvas() const { return canvas_; }
  QDockWidget* panel(const QString& name) const;
  QStringList recentFiles() const;

 public Q_SLOTS:
  void openDialog();
  void clearRecent();

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  void buildPanels();
  void addRecent(const QString& path);
  void rebuildRecentMenu();
  void refreshStatus();

  ImageCanvas* canvas_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QLabel* imageLabel_ = nullptr;
  QLabel* zoomLabel_ = nullptr;
  QLabel* deviceLabel_ = nullptr;
  QLabel* memoryLabel_ = nullptr;
  QString currentPath_;
};

}  // namespace setok::ui
