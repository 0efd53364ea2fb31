#include "ui/models_panel.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QVBoxLayout>

#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/setok_model.h"

namespace setok::ui {
namespace {

enum Column { kName, kType, kParams, kSize, kTrained, kPath, kColumns };

bool is_model_folder(const QString& d) {
  QDir dir(d);
  return dir.exists("config.json") && (dir.exists("model.safetensors") || dir.exists("model.safetensors.index.json"));
}

// A training run writes OUT/model and OUT/checkpoint: such folders are named by their run
// ("my-run/model"), so that runs are told apart; any other folder by its own name.
QString display_name(const QString& path) {
  const QFileInfo fi(path);
  const QString name = fi.fileName();
  if (name != "model" && name != "checkpoint") return name;
  const QString run = QFileInfo(fi.absolutePath()).fileName();
  return run.isEmpty() ? name : run + "/" + name;
}

QString human(double v, const char* const* units, int n, double step) {
  int u = 0;
  while (v >= step && u < n - 1) v /= step, ++u;
  return QString("%1 %2").arg(v, 0, 'f', u ? 1 : 0).arg(units[u]);
}

}  // namespace

ModelsPanel::ModelsPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("ModelsPanel");
  table_ = new QTableWidget(0, kColumns, this);
  table_->setObjectName("modelsTable");
  table_->setHorizontalHeaderLabels(
      {tr("model"), tr("type"), tr("parameters"), tr("on disk"), tr("trained"), tr("folder")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSortingEnabled(true);
  activeLabel_ = new QLabel(this);
  activeLabel_->setObjectName("modelsActive");
  load_ = new QPushButton(tr("Use in inspector"), this);
  unload_ = new QPushButton(tr("Unload"), this);
  add_ = new QPushButton(tr("Add folder…"), this);
  remove_ = new QPushButton(tr("Remove from list"), this);
  load_->setToolTip(tr("Load the selected model; the Tokens panel and the canvas use it"));
  unload_->setToolTip(tr("Free the loaded model and go back to the default"));
  connect(load_, &QPushButton::clicked, this, [this] {
    int r = table_->currentRow();
    if (r >= 0) Q_EMIT loadRequested(table_->item(r, kPath)->text());
  });
  connect(table_, &QTableWidget::cellDoubleClicked, this,
          [this](int r, int) { Q_EMIT loadRequested(table_->item(r, kPath)->text()); });
  connect(unload_, &QPushButton::clicked, this, [this] { Q_EMIT loadRequested(QString()); });
  connect(add_, &QPushButton::clicked, this, [this] {
    QString d = QFileDialog::getExistingDirectory(this, tr("Add a model folder"));
    QString err;
    if (!d.isEmpty() && !addFolder(d, &err)) QMessageBox::warning(this, tr("No model there"), err);
  });
  connect(remove_, &QPushButton::clicked, this, [this] {
    int r = table_->currentRow();
    if (r < 0) return;
    QSettings s;
    QStringList user = s.value("models/folders").toStringList();
    user.removeAll(table_->item(r, kPath)->text());
    s.setValue("models/folders", user);
    refresh();
  });
  auto* buttons = new QHBoxLayout;
  for (auto* b : {load_, unload_, add_, remove_}) buttons->addWidget(b);
  buttons->addStretch();
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(4, 4, 4, 4);
  v->addWidget(activeLabel_);
  v->addWidget(table_);
  v->addLayout(buttons);
  setActive(QString());
  refresh();
}

void ModelsPanel::addRow(const QString& path, const QString& origin) {
  try {
    io::CheckpointListing l = io::list_checkpoint(path.toStdString());
    std::uint64_t params = 0, bytes = 0;
    for (const auto& t : l.tensors) {
      std::uint64_t n = 1;
      for (auto d : t.shape) n *= static_cast<std::uint64_t>(d);
      params += n;
      bytes += t.nbytes;
    }
    const int r = table_->rowCount();
    table_->insertRow(r);
    static const char* const kUnits[] = {"", "K", "M", "G"};
    static const char* const kBytes[] = {"B", "KiB", "MiB", "GiB"};
    auto* name = new QTableWidgetItem(display_name(path));
    name->setToolTip(origin);
    table_->setItem(r, kName, name);
    table_->setItem(r, kType,
                    new QTableWidgetItem(QString::fromStdString(l.config.value("model_type", std::string("?")))));
    auto* p = new QTableWidgetItem(human(static_cast<double>(params), kUnits, 4, 1000));
    p->setData(Qt::UserRole, static_cast<qulonglong>(params));
    table_->setItem(r, kParams, p);
    table_->setItem(r, kSize, new QTableWidgetItem(human(static_cast<double>(bytes), kBytes, 4, 1024)));
    table_->setItem(r, kTrained, new QTableWidgetItem(l.config.value("trained", false) ? tr("yes") : tr("no")));
    table_->setItem(r, kPath, new QTableWidgetItem(path));
  } catch (const setok::Error& e) {
    // A broken folder stays listed, greyed, with the reason: the user added it for a reason.
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto* name = new QTableWidgetItem(display_name(path));
    name->setToolTip(QString::fromStdString(e.what()));
    name->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
    table_->setItem(r, kName, name);
    table_->setItem(r, kType, new QTableWidgetItem(tr("unreadable")));
    table_->setItem(r, kPath, new QTableWidgetItem(path));
  }
}

void ModelsPanel::refresh() {
  table_->setSortingEnabled(false);
  table_->setRowCount(0);
  QStringList seen;
  auto scan = [&](const QString& dir, const QString& origin) {
    if (is_model_folder(dir)) {
      if (!seen.contains(dir)) seen << dir, addRow(dir, origin);
      return;
    }
    for (const QFileInfo& fi : QDir(dir).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      if (is_model_folder(fi.absoluteFilePath()) && !seen.contains(fi.absoluteFilePath()))
        seen << fi.absoluteFilePath(), addRow(fi.absoluteFilePath(), origin);
  };
  const std::string bundled = tokenizer::bundled_models_dir();
  if (!bundled.empty()) scan(QString::fromStdString(bundled), tr("bundled"));
  for (const QString& d : QSettings().value("models/folders").toStringList()) scan(d, tr("added by you"));
  table_->setSortingEnabled(true);
}

bool ModelsPanel::addFolder(const QString& dir, QString* error) {
  QString abs = QFileInfo(dir).absoluteFilePath();
  bool any = is_model_folder(abs);
  for (const QFileInfo& fi : QDir(abs).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot))
    any = any || is_model_folder(fi.absoluteFilePath());
  if (!any) {
    if (error) *error = tr("%1: no model folder (config.json + model.safetensors) here").arg(abs);
    return false;
  }
  QSettings s;
  QStringList user = s.value("models/folders").toStringList();
  if (!user.contains(abs)) user << abs;
  s.setValue("models/folders", user);
  refresh();
  return true;
}

QStringList ModelsPanel::modelPaths() const {
  QStringList out;
  for (int r = 0; r < table_->rowCount(); ++r) out << table_->item(r, kPath)->text();
  return out;
}

int ModelsPanel::rowOf(const QString& path) const {
  for (int r = 0; r < table_->rowCount(); ++r)
    if (table_->item(r, kPath)->text() == path) return r;
  return -1;
}

void ModelsPanel::setActive(const QString& path) {
  active_ = path;
  CudaInfo cuda = cuda_info();
  const QString device = cuda.torch_cuda ? tr("CUDA") : tr("CPU");
  activeLabel_->setText(
      path.isEmpty() ? tr("Inspector: the default model (bundled, or an untrained fixed-seed one) on %1").arg(device)
                     : tr("Inspector: %1 on %2").arg(display_name(path), device));
  for (int r = 0; r < table_->rowCount(); ++r) {
    QFont f = table_->item(r, kName)->font();
    f.setBold(table_->item(r, kPath)->text() == path);
    table_->item(r, kName)->setFont(f);
  }
  unload_->setEnabled(!path.isEmpty());
}

}  // namespace setok::ui
