#pragma once
// The Models panel: the SeTok models the studio can use — bundled ones and folders the user adds —
// with their parameter count, size on disk and state, and which one the inspector runs.
#include <QStringList>
#include <QWidget>

class QTableWidget;
class QLabel;
class QPushButton;

namespace setok::ui {

class ModelsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelsPanel(QWidget* parent = nullptr);

  // Rescans the bundled folder and the user's folders (kept in QSettings).
  void refresh();
  // Adds a model folder (config.json + weights) or a folder of model folders; false + reason if
  // nothing usable is there.
  bool addFolder(const QString& dir, QString* error);
  QStringList modelPaths() const;
  int rowOf(const QString& path) const;
  // The model the inspector runs ("" = the built-in fallback).
  void setActive(const QString& path);
  QString active() const { return active_; }

 Q_SIGNALS:
  void loadRequested(const QString& path);  // "" = unload: back to the default model

 private:
  void addRow(const QString& path, const QString& origin);
  QTableWidget* table_;
  QLabel* activeLabel_;
  QPushButton *load_, *unload_, *add_, *remove_;
  QString active_;
};

}  // namespace setok::ui
