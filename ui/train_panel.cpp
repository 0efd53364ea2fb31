#include "ui/train_panel.h"

#include <signal.h>
#include <sys/prctl.h>

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryFile>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/runtime/system_info.h"
#include "core/tokenizer/setok_model.h"

namespace setok::ui {
namespace {

// The form's scroll area asks for the form's least width, not for its widest field's: the panel's
// first layout then gives the charts the larger share (the user can still move the splitter).
class FormScroll : public QScrollArea {
 public:
  std::function<void(int width)> resized;  // the viewport's new width
  QSize sizeHint() const override { return {minimumWidth(), QScrollArea::sizeHint().height()}; }

 protected:
  void resizeEvent(QResizeEvent* e) override {
    QScrollArea::resizeEvent(e);
    if (resized) resized(viewport()->width());
  }
};

constexpr int kFormColumnWidth = 300;  // a label and its field

const char* kLossSeries[] = {"loss", "loss_rec", "loss_concept", "loss_grouping"};
constexpr int kChartRoom = 560;  // the least width the charts get beside the form

QDoubleSpinBox* real_box(double lo, double hi, double v, int decimals, double step) {
  auto* b = new QDoubleSpinBox;
  b->setRange(lo, hi);
  b->setDecimals(decimals);
  b->setSingleStep(step);
  b->setValue(v);
  return b;
}

// The step axis from 0 to `steps`, with ticks at round numbers (1, 2 or 5 × 10^k apart, about
// four of them) rather than at a fifth of an odd total.
void set_step_axis(QValueAxis* x, double steps) {
  steps = std::max(1.0, steps);
  const double raw = steps / 4, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  x->setRange(0, steps);
  x->setTickType(QValueAxis::TicksDynamic);
  x->setTickAnchor(0);
  x->setTickInterval(std::max(1.0, step));
}

QSpinBox* int_box(int lo, int hi, int v) {
  auto* b = new QSpinBox;
  b->setRange(lo, hi);
  b->setValue(v);
  return b;
}

// Errors are shown window-modal but without a nested event loop: the panel keeps following its
// processes (and tests keep running) while the dialog is up.
void show_error(QWidget* parent, const QString& title, const QString& text) {
  auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, parent);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setObjectName("trainError");
  box->open();
}

// The child dies with the studio, whatever way the studio ends: no orphan keeps a GPU busy.
void die_with_parent(QProcess* p) {
  p->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
}

}  // namespace

QString TrainPanel::cliPath() {
  QByteArray env = qgetenv("SETOK_CLI");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env);
  return QDir(QCoreApplication::applicationDirPath()).filePath("setok");
}

TrainPanel::TrainPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("TrainPanel");
  buildFields();
  form_ = buildForm();
  QWidget* charts = buildCharts();
  // The run's controls and its state span the panel's width above the form and the charts: they
  // never scroll out of sight, whatever the dock's size. The form sits beside the charts where
  // both fit whole, else it is the first of their tabs (arrange()).
  split_ = new QSplitter(Qt::Horizontal);
  split_->setObjectName("trainSplit");
  split_->addWidget(charts);
  split_->setChildrenCollapsible(false);
  auto* top = new QVBoxLayout(this);
  top->setContentsMargins(4, 4, 4, 4);
  top->addLayout(buildButtons());
  // The state on a line of its own (a long one never widens the panel or hides a button); while
  // the form has a problem, its reason takes that line's place, so nothing in the form moves.
  auto* stateRow = new QHBoxLayout;
  stateRow->addWidget(status_, 1);
  stateRow->addWidget(formError_, 1);
  ranks_ = new QLabel;
  ranks_->setObjectName("trainRanks");
  ranks_->setToolTip(tr("Each process of a data-parallel run; the charts are rank 0's"));
  ranks_->hide();
  stateRow->addWidget(ranks_);
  top->addLayout(stateRow);
  top->addWidget(split_, 1);
  arrange(false);
  setRunning(false);
  updateOpenButton();
  // Start from the recipe that made the bundled model (its model, loss weights and schedule), not
  // from the trainer's paper defaults: the data and output folders stay the user's to choose.
  const QString recipe = bundledRecipe();
  QString error;
  if (!recipe.isEmpty() && loadConfig(recipe, &error)) {
    data_->clear();
    valData_->clear();
    out_->setText(QDir::home().filePath("setok-runs/setok"));
    baseConfig_.remove("val_data");  // config() writes train_data and out from the form, val_data only when set
    status_->setText(tr("Idle · recipe of the bundled setok-small"));
  }
}

void TrainPanel::buildFields() {
  data_ = new QLineEdit;
  data_->setObjectName("trainData");
  data_->setPlaceholderText(tr("dataset folder (images/ + annotations/instances_*.json)"));
  valData_ = new QLineEdit;
  valData_->setPlaceholderText(tr("optional: held-out folder evaluated when training ends"));
  out_ = new QLineEdit(QDir::home().filePath("setok-runs/setok"));
  out_->setObjectName("trainOut");
  steps_ = int_box(1, 10000000, 2000);
  steps_->setObjectName("trainSteps");
  batch_ = int_box(1, 4096, 32);
  batch_->setObjectName("trainBatch");
  warmup_ = int_box(0, 1000000, 100);
  warmup_->setObjectName("trainWarmup");
  ckptEvery_ = int_box(0, 1000000, 500);
  ckptEvery_->setSpecialValueText(tr("only at the end"));
  seed_ = int_box(0, 1 << 30, 0);
  maxTokens_ = int_box(1, 256, 16);
  processes_ = int_box(1, 256, 1);
  processes_->setObjectName("trainProcesses");
  processes_->setToolTip(
      tr("Data-parallel processes on this machine (setok launch): the batch size is each one's, rank 0 writes "
         "the run; each gets cores / processes threads. On CUDA each takes its own GPU."));
  lr_ = real_box(1e-6, 1.0, 1e-3, 6, 1e-4);
  recW_ = real_box(0, 100, 1, 3, 0.1);
  conceptW_ = real_box(0, 100, 1, 3, 0.1);
  groupW_ = real_box(0, 100, 0, 3, 0.1);
  device_ = new QComboBox;
  device_->setObjectName("trainDevice");
  device_->addItem(tr("CPU"), "cpu");
  CudaInfo cuda = cuda_info();
  for (int i = 0; i < cuda.torch_devices; ++i) device_->addItem(tr("CUDA device %1").arg(i), QString("cuda:%1").arg(i));
  bf16_ = new QCheckBox(tr("bf16 autocast"));
  bf16_->setObjectName("trainBf16");
  const QString unit = QString::fromStdString(cpu_bf16_hardware());
  bf16_->setToolTip(
      unit.isEmpty() ? tr("f32 master weights. On a GPU: faster. On this CPU bf16 is emulated, so slower than f32.")
                     : tr("f32 master weights. On a GPU, and on this CPU (%1): about 1.5× faster than f32.").arg(unit));
  bf16_->setChecked(!unit.isEmpty());
  formError_ = new QLabel;
  formError_->setObjectName("trainFormError");
  formError_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  formError_->setStyleSheet("color: #c0392b");
  formError_->hide();
  for (QSpinBox* b : {steps_, warmup_, ckptEvery_})
    connect(b, qOverload<int>(&QSpinBox::valueChanged), this, [this] { checkForm(); });
  connect(data_, &QLineEdit::textChanged, this, [this] { checkForm(); });
}

// The fields in as many columns as the width holds (up to three), filled column by column, so a
// short dock shows the whole form where it is wide enough.
QWidget* TrainPanel::buildForm() {
  auto browse = [this](QLineEdit* e) {
    auto* b = new QPushButton(tr("…"));
    b->setMaximumWidth(32);
    connect(b, &QPushButton::clicked, this, [this, e] {
      QString d = QFileDialog::getExistingDirectory(this, tr("Choose a folder"), e->text());
      if (!d.isEmpty()) e->setText(d);
    });
    auto* w = new QWidget;
    auto* h = new QHBoxLayout(w);
    h->setContentsMargins(0, 0, 0, 0);
    h->addWidget(e, 1);
    h->addWidget(b);
    return w;
  };
  const std::pair<QString, QWidget*> rows[] = {{tr("Training data"), browse(data_)},
                                               {tr("Evaluation data"), browse(valData_)},
                                               {tr("Output folder"), browse(out_)},
                                               {tr("Device"), device_},
                                               {tr("Precision"), bf16_},
                                               {tr("Processes"), processes_},
                                               {tr("Steps"), steps_},
                                               {tr("Batch size"), batch_},
                                               {tr("Learning rate"), lr_},
                                               {tr("Warm-up steps"), warmup_},
                                               {tr("Checkpoint every"), ckptEvery_},
                                               {tr("Seed"), seed_},
                                               {tr("Token cap"), maxTokens_},
                                               {tr("α reconstruction"), recW_},
                                               {tr("β concept"), conceptW_},
                                               {tr("Grouping"), groupW_}};
  for (const auto& [text, field] : rows) formFields_.push_back({new QLabel(text), field});
  auto* inner = new QWidget;
  auto* v = new QVBoxLayout(inner);
  v->setContentsMargins(0, 0, 4, 0);
  formGrid_ = new QGridLayout;
  formGrid_->setHorizontalSpacing(8);
  v->addLayout(formGrid_);
  v->addStretch();
  layoutForm(1);
  // It scrolls up and down only, so a short dock still reaches every field; never sideways.
  auto* scroll = new FormScroll;
  scroll->setObjectName("trainFormScroll");
  scroll->setWidget(inner);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setMinimumWidth(kFormColumnWidth);
  scroll->resized = [this](int w) { layoutForm(std::clamp(w / kFormColumnWidth, 1, 3)); };
  return scroll;
}

void TrainPanel::layoutForm(int columns) {
  if (columns == formColumns_) return;
  formColumns_ = columns;
  for (const auto& [label, field] : formFields_) {
    formGrid_->removeWidget(label);
    formGrid_->removeWidget(field);
  }
  const int n = static_cast<int>(formFields_.size()), perColumn = (n + columns - 1) / columns;
  for (int i = 0; i < n; ++i) {
    const int r = i % perColumn, c = i / perColumn;
    formGrid_->addWidget(formFields_[static_cast<std::size_t>(i)].first, r, 2 * c);
    formGrid_->addWidget(formFields_[static_cast<std::size_t>(i)].second, r, 2 * c + 1);
  }
  for (int c = 0; c < 6; ++c) formGrid_->setColumnStretch(c, c % 2 && c / 2 < columns ? 1 : 0);
}

// Run controls and the config's own actions on one row above everything else (the state below them).
QHBoxLayout* TrainPanel::buildButtons() {
  startBtn_ = new QPushButton(tr("Start"));
  pauseBtn_ = new QPushButton(tr("Pause"));
  resumeBtn_ = new QPushButton(tr("Resume"));
  stopBtn_ = new QPushButton(tr("Stop"));
  openBtn_ = new QPushButton(tr("Open in inspector"));
  startBtn_->setObjectName("trainStart");
  pauseBtn_->setObjectName("trainPause");
  resumeBtn_->setObjectName("trainResume");
  stopBtn_->setObjectName("trainStop");
  openBtn_->setObjectName("trainOpen");
  pauseBtn_->setToolTip(tr("Checkpoint after the current step and stop"));
  resumeBtn_->setToolTip(tr("Continue from the output folder's checkpoint"));
  stopBtn_->setToolTip(tr("End the training process now (its memory is freed)"));
  connect(startBtn_, &QPushButton::clicked, this, &TrainPanel::start);
  connect(pauseBtn_, &QPushButton::clicked, this, &TrainPanel::pause);
  connect(resumeBtn_, &QPushButton::clicked, this, &TrainPanel::resume);
  connect(stopBtn_, &QPushButton::clicked, this, &TrainPanel::stop);
  connect(openBtn_, &QPushButton::clicked, this, &TrainPanel::openResult);
  auto* config = new QPushButton(tr("Config"));
  config->setObjectName("trainConfigMenu");
  auto* menu = new QMenu(config);
  menu->addAction(tr("Load…"), this, [this] {
    QString p = QFileDialog::getOpenFileName(this, tr("Load training config"), QString(), tr("JSON (*.json)"));
    QString err;
    if (!p.isEmpty() && !loadConfig(p, &err)) show_error(this, tr("Cannot load config"), err);
  });
  menu->addAction(tr("Save…"), this, [this] {
    QString p = QFileDialog::getSaveFileName(this, tr("Save training config"), QString(), tr("JSON (*.json)"));
    QString err;
    if (!p.isEmpty() && !saveConfig(p, &err)) show_error(this, tr("Cannot save config"), err);
  });
  menu->addSeparator();
  menu->addAction(tr("Generate scenes…"), this, &TrainPanel::generateWorld);
  config->setMenu(menu);
  config->setToolTip(tr("Load or save the form as a training config; generate a scenes world to train on"));
  status_ = new QLabel(tr("Idle"));
  status_->setObjectName("trainStatus");
  status_->setMinimumWidth(80);
  status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // long states elide, never widen the panel
  auto* row = new QHBoxLayout;
  for (auto* b : {startBtn_, pauseBtn_, resumeBtn_, stopBtn_, openBtn_}) row->addWidget(b);
  row->addStretch(1);
  row->addWidget(config);
  return row;
}

QWidget* TrainPanel::buildCharts() {
  lossChart_ = new QChart;
  lossX_ = new QValueAxis;
  lossY_ = new QValueAxis;
  lossChart_->addAxis(lossX_, Qt::AlignBottom);
  lossChart_->addAxis(lossY_, Qt::AlignLeft);
  for (const char* name : kLossSeries) {
    auto* s = new QLineSeries;
    s->setName(name);
    lossChart_->addSeries(s);
    s->attachAxis(lossX_);
    s->attachAxis(lossY_);
    series_[name] = s;
  }
  speedChart_ = new QChart;
  speedX_ = new QValueAxis;
  speedY_ = new QValueAxis;
  speedChart_->addAxis(speedX_, Qt::AlignBottom);
  speedChart_->addAxis(speedY_, Qt::AlignLeft);
  auto* sp = new QLineSeries;
  sp->setName("images_per_s");
  speedChart_->addSeries(sp);
  sp->attachAxis(speedX_);
  sp->attachAxis(speedY_);
  series_["images_per_s"] = sp;
  speedChart_->legend()->hide();
  for (QLineSeries* s : series_) s->setPointsVisible(true);  // the first logged point shows before a line can
  lossChart_->legend()->setAlignment(Qt::AlignRight);        // beside the plot: a short chart keeps its height
  for (QChart* c : {lossChart_, speedChart_}) {
    c->setTheme(palette().color(QPalette::Window).lightness() < 128 ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    // Untitled (the tab names it), axes too: a docked panel is short, and in a short chart Qt
    // elides every axis label once titles and wide margins have taken the height.
    c->setMargins(QMargins(2, 2, 2, 2));
    c->setBackgroundRoundness(0);
  }
  // Step axes span the planned run before it starts, so the empty charts already read sensibly.
  for (QValueAxis* x : {lossX_, speedX_}) {
    x->setLabelFormat("%d");
    set_step_axis(x, steps_->value());
  }
  for (QValueAxis* y : {lossY_, speedY_}) y->setTickCount(4);  // fewer labels fit a short chart
  connect(steps_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int n) {
    if (proc_ && proc_->state() != QProcess::NotRunning) return;
    set_step_axis(lossX_, n);
    set_step_axis(speedX_, n);
  });
  auto* lossView = lossView_ = new QChartView(lossChart_);
  auto* speedView = new QChartView(speedChart_);
  lossView->setObjectName("trainLossView");
  lossView->setRenderHint(QPainter::Antialiasing);
  log_ = new QPlainTextEdit;
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(2000);
  log_->setObjectName("trainLog");
  metrics_ = new QTableWidget(0, 2);
  metrics_->setObjectName("trainMetrics");
  metrics_->setHorizontalHeaderLabels({tr("metric"), tr("value")});
  metrics_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);  // whole metric names
  metrics_->horizontalHeader()->setStretchLastSection(true);
  metrics_->verticalHeader()->hide();
  // Charts, log and metrics share one area as tabs: a docked panel stays short.
  tabs_ = new QTabWidget;
  tabs_->setObjectName("trainTabs");
  tabs_->addTab(lossView, tr("Loss"));
  tabs_->addTab(speedView, tr("Throughput (images/s)"));
  tabs_->addTab(log_, tr("Log"));
  tabs_->addTab(metrics_, tr("Evaluation"));
  // Wide and tall enough for the axes' numbers and the legend: the splitter gives the form no more.
  lossView->setMinimumSize(360, 150);
  for (QWidget* w : {static_cast<QWidget*>(speedView), static_cast<QWidget*>(log_), static_cast<QWidget*>(metrics_)})
    w->setMinimumSize(200, 120);
  return tabs_;
}

void TrainPanel::arrange(bool besideCharts) {
  if (besideCharts == formBeside_ && (besideCharts || tabs_->indexOf(form_) >= 0)) return;
  formBeside_ = besideCharts;
  const bool wasShown = tabs_->currentWidget() == form_;
  if (besideCharts) {
    tabs_->removeTab(tabs_->indexOf(form_));
    split_->insertWidget(0, form_);
    split_->setStretchFactor(0, 0);  // the form keeps its three columns; the charts take the rest
    split_->setStretchFactor(1, 1);
    if (wasShown) tabs_->setCurrentIndex(0);
  } else {
    tabs_->insertTab(0, form_, tr("Settings"));
    if (wasShown || !isRunning()) tabs_->setCurrentIndex(0);
  }
  form_->show();
}

void TrainPanel::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  // Beside the charts only where the charts keep room for their axes and legend.
  const int threeColumns = 3 * kFormColumnWidth + 24;  // with the scroll bar and margins
  arrange(width() >= threeColumns + kChartRoom);
  if (formBeside_) split_->setSizes({threeColumns, width() - threeColumns});
}

QString TrainPanel::bundledRecipe() {
  const std::string models = tokenizer::bundled_models_dir();
  if (models.empty()) return {};
  const QString p = QDir(QString::fromStdString(models)).filePath("../configs/setok-small/01-first.json");
  return QFileInfo::exists(p) ? QDir::cleanPath(p) : QString();
}

TrainPanel::~TrainPanel() {
  for (QProcess* p : {proc_, evalProc_})
    if (p && p->state() != QProcess::NotRunning) {
      p->kill();
      p->waitForFinished(3000);
    }
}

QJsonObject TrainPanel::config() const {
  QJsonObject c = baseConfig_;
  c["train_data"] = data_->text();
  if (!valData_->text().isEmpty()) c["val_data"] = valData_->text();
  c["out"] = out_->text();
  c["device"] = device_->currentData().toString();
  c["mixed_precision"] = bf16_->isChecked();
  c["cpu_bf16"] = bf16_->isChecked();
  c["steps"] = steps_->value();
  c["batch_size"] = batch_->value();
  c["lr"] = lr_->value();
  c["warmup_steps"] = warmup_->value();
  c["checkpoint_every"] = ckptEvery_->value();
  c["seed"] = seed_->value();
  c["rec_weight"] = recW_->value();
  c["concept_weight"] = conceptW_->value();
  c["grouping_weight"] = groupW_->value();
  QJsonObject model = c["model"].toObject();
  QJsonObject cluster = model["cluster"].toObject();
  cluster["max_tokens"] = maxTokens_->value();
  model["cluster"] = cluster;
  c["model"] = model;
  return c;
}

void TrainPanel::setConfig(const QJsonObject& c) {
  baseConfig_ = c;
  data_->setText(c["train_data"].toString());
  valData_->setText(c["val_data"].toString());
  if (c.contains("out")) out_->setText(c["out"].toString());
  int d = device_->findData(c["device"].toString("cpu"));
  device_->setCurrentIndex(d >= 0 ? d : 0);
  // The key of the chosen device's kind; a config that names neither keeps the box as it is.
  const char* key = device_->currentData().toString().startsWith("cuda") ? "mixed_precision" : "cpu_bf16";
  bf16_->setChecked(c[key].toBool(bf16_->isChecked()));
  steps_->setValue(c["steps"].toInt(steps_->value()));
  batch_->setValue(c["batch_size"].toInt(batch_->value()));
  lr_->setValue(c["lr"].toDouble(lr_->value()));
  warmup_->setValue(c["warmup_steps"].toInt(warmup_->value()));
  ckptEvery_->setValue(c["checkpoint_every"].toInt(ckptEvery_->value()));
  seed_->setValue(c["seed"].toInt(seed_->value()));
  recW_->setValue(c["rec_weight"].toDouble(recW_->value()));
  conceptW_->setValue(c["concept_weight"].toDouble(conceptW_->value()));
  groupW_->setValue(c["grouping_weight"].toDouble(groupW_->value()));
  maxTokens_->setValue(c["model"].toObject()["cluster"].toObject()["max_tokens"].toInt(maxTokens_->value()));
}

bool TrainPanel::loadConfig(const QString& path, QString* error) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    *error = path + ": " + f.errorString();
    return false;
  }
  QJsonParseError pe;
  QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
  if (!doc.isObject()) {
    *error = path + ": not a JSON object (" + pe.errorString() + ")";
    return false;
  }
  setConfig(doc.object());
  configPath_ = path;
  return true;
}

bool TrainPanel::saveConfig(const QString& path, QString* error) const {
  QSaveFile f(path);  // atomic: temporary file, then rename
  if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(config()).toJson()) < 0 || !f.commit()) {
    *error = path + ": " + f.errorString();
    return false;
  }
  return true;
}

bool TrainPanel::isRunning() const { return proc_ && proc_->state() != QProcess::NotRunning; }
qint64 TrainPanel::processId() const { return proc_ ? proc_->processId() : 0; }
int TrainPanel::pointCount(const QString& s) const { return series_.contains(s) ? series_[s]->count() : 0; }

void TrainPanel::setRunning(bool running) {
  openBtn_->setEnabled(!running && !modelDir_.isEmpty());
  startBtn_->setEnabled(!running);
  resumeBtn_->setEnabled(!running);
  // Pause signals the process, which listens only once training has started (the "start" event).
  pauseBtn_->setEnabled(running && started_);
  stopBtn_->setEnabled(running);
}

void TrainPanel::appendLog(const QString& line) { log_->appendPlainText(line); }

void TrainPanel::start() {
  if (isRunning()) return;
  for (auto* s : series_) s->clear();
  maxLoss_ = maxSpeed_ = 0;
  launch({});
}

QString TrainPanel::formProblem() const {
  if (warmup_->value() >= steps_->value())
    return tr("Warm-up steps (%1) must be fewer than the steps (%2): the learning rate would never reach its value.")
        .arg(warmup_->value())
        .arg(steps_->value());
  if (data_->text().trimmed().isEmpty()) return tr("Choose a training data folder first.");
  if (!QFileInfo(data_->text()).isDir()) return tr("Training data: %1 is not a folder.").arg(data_->text());
  if (out_->text().trimmed().isEmpty()) return tr("Choose an output folder.");
  return {};
}

// Live: the warm-up box turns red and the reason shows under the form as soon as it is wrong.
void TrainPanel::checkForm() {
  const bool badWarmup = warmup_->value() >= steps_->value();
  warmup_->setStyleSheet(badWarmup ? "background: #f5c6cb" : "");
  // Only what is wrong in the numbers shows live; a missing data folder is said on Start, not
  // while the user is still filling in the form.
  formError_->setText(badWarmup ? formProblem() : QString());
  formError_->setToolTip(formError_->text());
  formError_->setVisible(badWarmup);
  if (status_) status_->setVisible(!badWarmup);
}

void TrainPanel::resetResult() {
  modelDir_.clear();
  resultStep_ = -1;
  metrics_->setRowCount(0);
  if (evalProc_ && evalProc_->state() != QProcess::NotRunning) {
    evalProc_->disconnect(this);
    evalProc_->kill();
    evalProc_->waitForFinished(3000);
  }
  updateOpenButton();
}

void TrainPanel::updateOpenButton() {
  const bool has = !modelDir_.isEmpty();
  openBtn_->setEnabled(has && !isRunning());
  openBtn_->setToolTip(!has ? tr("A run that finishes (or pauses) has a model to open")
                       : resultStep_ >= 0
                           ? tr("Open the checkpoint of step %1 in the inspector: %2").arg(resultStep_).arg(modelDir_)
                           : tr("Open the trained model in the inspector: %1").arg(modelDir_));
}

void TrainPanel::openResult() {
  if (modelDir_.isEmpty() || !QFileInfo(QDir(modelDir_).filePath("config.json")).exists()) {
    show_error(this, tr("Nothing to open"),
               modelDir_.isEmpty() ? tr("This run has no model yet: it ends with one, and a pause leaves a checkpoint.")
                                   : tr("%1: the model is no longer there").arg(modelDir_));
    return;
  }
  Q_EMIT openModelRequested(modelDir_);
}

void TrainPanel::resume() {
  QString ck = QDir(out_->text()).filePath("checkpoint");
  if (!QFileInfo(ck).isDir()) {
    show_error(this, tr("Cannot resume"), tr("%1: no checkpoint to resume from").arg(ck));
    return;
  }
  launch({"--resume", ck});
}

void TrainPanel::launch(const QStringList& extra) {
  if (isRunning()) return;
  if (const QString problem = formProblem(); !problem.isEmpty()) {
    show_error(this, tr("Cannot start training"), problem);
    return;
  }
  // A new run: no result yet, the previous run's evaluation goes, and the chart is what to watch.
  resetResult();
  tabs_->setCurrentWidget(lossView_);
  if (!QDir().mkpath(out_->text())) {
    show_error(this, tr("Cannot start training"), tr("%1: cannot create the output folder").arg(out_->text()));
    return;
  }
  QString cfgPath = QDir(out_->text()).filePath("train_config.json");
  QString err;
  if (!saveConfig(cfgPath, &err)) {
    show_error(this, tr("Cannot start training"), err);
    return;
  }
  delete proc_;
  proc_ = new QProcess(this);
  die_with_parent(proc_);
  connect(proc_, &QProcess::readyReadStandardOutput, this, &TrainPanel::onStdout);
  connect(proc_, &QProcess::readyReadStandardError, this, [this] {
    for (const QByteArray& l : proc_->readAllStandardError().split('\n'))
      if (!l.trimmed().isEmpty()) {
        appendLog(QString::fromUtf8(l));
        noteRankLine(QString::fromUtf8(l));
      }
  });
  connect(proc_, &QProcess::finished, this, &TrainPanel::onFinished);
  connect(proc_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart) {
      show_error(this, tr("Training failed"), tr("cannot run %1").arg(cliPath()));
      setRunning(false);
    }
  });
  QStringList args = {"train", "setok", "--config", cfgPath, "--progress", "jsonl"};
  args += extra;
  const int ranks = processes_->value();
  rankStates_.clear();
  ranks_->setVisible(ranks > 1);
  if (ranks > 1) {  // the launcher starts the ranks; "setok" there is this very program
    if (device_->currentData().toString().startsWith("cuda")) args += {"--device", "cuda"};  // one GPU a rank
    args = QStringList{"launch", "--nproc", QString::number(ranks), "--", "setok"} + args;
    for (int r = 0; r < ranks; ++r) rankStates_[r] = tr("starting");
    noteRankLine({});
  }
  appendLog("$ setok " + args.join(' '));
  started_ = false;
  status_->setText(tr("Starting…"));
  setRunning(true);
  proc_->start(cliPath(), args);
}

void TrainPanel::onStdout() {
  pending_ += proc_->readAllStandardOutput();
  int nl;
  while ((nl = pending_.indexOf('\n')) >= 0) {
    QByteArray line = pending_.left(nl).trimmed();
    pending_.remove(0, nl + 1);
    if (line.isEmpty()) continue;
    QJsonDocument d = QJsonDocument::fromJson(line);
    if (d.isObject()) onEvent(d.object());
    else appendLog(QString::fromUtf8(line));
  }
}

void TrainPanel::onEvent(const QJsonObject& e) {
  Q_EMIT eventReceived(e);
  const QString ev = e["event"].toString();
  const double step = e["step"].toDouble();
  if (ev == "start") {
    started_ = true;
    setRunning(true);
  }
  if (ev == "step") {
    for (const char* name : kLossSeries)
      if (e.contains(name)) {
        double v = e[name].toDouble();
        series_[name]->append(step, v);
        maxLoss_ = std::max(maxLoss_, v);
      }
    double ips = e["images_per_s"].toDouble();
    series_["images_per_s"]->append(step, ips);
    maxSpeed_ = std::max(maxSpeed_, ips);
    const double total = e["total_steps"].toDouble();
    set_step_axis(lossX_, total);
    set_step_axis(speedX_, total);
    lossY_->setRange(0, maxLoss_ * 1.05 + 1e-9);
    speedY_->setRange(0, maxSpeed_ * 1.1 + 1e-9);
    status_->setText(tr("step %1 / %2 · loss %3 · %4 img/s · ETA %5 s · %6 MiB")
                         .arg(step)
                         .arg(total)
                         .arg(e["loss"].toDouble(), 0, 'f', 4)
                         .arg(ips, 0, 'f', 1)
                         .arg(e["eta_s"].toDouble(), 0, 'f', 0)
                         .arg(e["memory_mb"].toDouble(), 0, 'f', 0));
  } else if (ev == "done") {
    modelDir_ = e["model"].toString();
    resultStep_ = -1;
    status_->setText(tr("Done: %1 steps in %2 s").arg(step).arg(e["seconds"].toDouble(), 0, 'f', 0));
  } else if (ev == "paused") {
    // The checkpoint is a model folder too: it is what this run has to evaluate and open.
    modelDir_ = e["checkpoint"].toString();
    resultStep_ = static_cast<int>(step);
    status_->setText(tr("Paused at step %1 (checkpoint saved)").arg(step));
  } else if (ev == "error") {
    status_->setText(tr("Error: %1").arg(e["message"].toString()));
  } else {
    appendLog(QString::fromUtf8(QJsonDocument(e).toJson(QJsonDocument::Compact)));
  }
}

void TrainPanel::noteRankLine(const QString& line) {
  static const QRegularExpression launcher("^setok launch: rank (\\d+) (.*)$"),
      rank("^setok: rank (\\d+) of \\d+: (.*)$");
  QRegularExpressionMatch m = launcher.match(line);
  if (!m.hasMatch()) m = rank.match(line);
  if (m.hasMatch()) rankStates_[m.captured(1).toInt()] = m.captured(2).section(';', 0, 0);
  QStringList parts;
  for (auto it = rankStates_.begin(); it != rankStates_.end(); ++it)
    parts << tr("rank %1: %2").arg(it.key()).arg(it.value());
  ranks_->setText(parts.join(QStringLiteral(" · ")));
}

void TrainPanel::pause() {
  if (isRunning() && started_) {
    status_->setText(tr("Pausing after this step…"));
    ::kill(static_cast<pid_t>(proc_->processId()), SIGUSR1);
  }
}

void TrainPanel::stop() {
  if (!isRunning()) return;
  status_->setText(tr("Stopping…"));
  proc_->terminate();
  if (!proc_->waitForFinished(5000)) {
    proc_->kill();
    proc_->waitForFinished(3000);
  }
}

void TrainPanel::onFinished(int code, QProcess::ExitStatus st) {
  onStdout();
  setRunning(false);
  if (st == QProcess::CrashExit) {
    if (!status_->text().startsWith(tr("Stopping"))) {
      status_->setText(tr("Training process ended abnormally"));
      show_error(this, tr("Training failed"), tr("The training process crashed; see the log."));
    } else {
      status_->setText(tr("Stopped"));
    }
  } else if (code != 0) {
    QString last = log_->toPlainText().section('\n', -1).trimmed();
    status_->setText(tr("Failed (exit %1)").arg(code));
    show_error(this, tr("Training failed"), last.isEmpty() ? tr("exit code %1").arg(code) : last);
  } else if (!modelDir_.isEmpty()) {
    runEvaluation();
  }
  updateOpenButton();
  Q_EMIT finished(code);
}

void TrainPanel::runEvaluation() {
  const QString data = valData_->text().isEmpty() ? data_->text() : valData_->text();
  delete evalProc_;
  evalProc_ = new QProcess(this);
  die_with_parent(evalProc_);
  const QString what = resultStep_ >= 0 ? tr("checkpoint of step %1").arg(resultStep_) : tr("final model");
  connect(evalProc_, &QProcess::finished, this, [this, data, what](int code, QProcess::ExitStatus) {
    QJsonDocument d = QJsonDocument::fromJson(evalProc_->readAllStandardOutput());
    if (code != 0 || !d.isObject()) {
      appendLog(tr("evaluation failed: %1").arg(QString::fromUtf8(evalProc_->readAllStandardError()).trimmed()));
      return;
    }
    QJsonObject m = d.object();
    metrics_->setRowCount(0);
    // Which model these figures are of, first: a paused run's are its checkpoint's.
    metrics_->insertRow(0);
    metrics_->setItem(0, 0, new QTableWidgetItem(tr("evaluated")));
    metrics_->setItem(0, 1, new QTableWidgetItem(tr("%1 on %2").arg(what, QFileInfo(data).fileName())));
    metrics_->item(0, 1)->setToolTip(modelDir_);
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it.value().isDouble()) continue;
      int r = metrics_->rowCount();
      metrics_->insertRow(r);
      metrics_->setItem(r, 0, new QTableWidgetItem(it.key()));
      metrics_->setItem(r, 1, new QTableWidgetItem(QString::number(it.value().toDouble(), 'g', 4)));
    }
    appendLog(tr("evaluated the %1 (%2) on %3").arg(what, modelDir_, data));
    tabs_->setCurrentWidget(metrics_);
  });
  evalProc_->start(cliPath(), {"eval", "setok", "-m", modelDir_, "--data", data, "--limit", "200", "--json"});
}

void TrainPanel::generateWorld() {
  bool ok = false;
  int count = QInputDialog::getInt(this, tr("Generate a scenes world"), tr("Images"), 2000, 1, 1000000, 100, &ok);
  if (!ok) return;
  QString dir = QFileDialog::getExistingDirectory(this, tr("Where to write it"));
  if (dir.isEmpty()) return;
  auto* p = new QProcess(this);
  die_with_parent(p);
  connect(p, &QProcess::finished, this, [this, p, dir](int code, QProcess::ExitStatus) {
    if (code == 0) {
      data_->setText(dir);
      appendLog(tr("scenes world written to %1").arg(dir));
    } else {
      show_error(this, tr("Generation failed"), QString::fromUtf8(p->readAllStandardError()).trimmed());
    }
    p->deleteLater();
  });
  appendLog(tr("generating %1 scenes in %2…").arg(count).arg(dir));
  p->start(cliPath(), {"data", "scenes", "--out", dir, "--count", QString::number(count), "--split", "train"});
}

bool TrainPanel::confirmClose() {
  if (!isRunning()) return true;
  auto b = QMessageBox::question(this, tr("Training is running"),
                                 tr("Stop the training? Pause keeps a checkpoint you can resume."),
                                 QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
  if (b != QMessageBox::Yes) return false;
  stop();
  return true;
}

}  // namespace setok::ui
