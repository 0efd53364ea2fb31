#pragma once
// The Train panel: a form over the training config, Start / Pause / Resume / Stop of a
// `setok train setok … --progress jsonl` child process, live charts of every loss term and the
// throughput, and the evaluation of the finished model. Training never runs in the GUI process:
// stopping the child frees its memory, and a crash in training cannot take the studio down.
#include <QJsonObject>
#include <QMap>
#include <QProcess>
#include <QWidget>
#include <utility>
#include <vector>

class QChart;
class QChartView;
class QSplitter;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;
class QCheckBox;
class QComboBox;
class QTableWidget;
class QTabWidget;
class QHBoxLayout;
class QGridLayout;
class QLineSeries;
class QValueAxis;

namespace setok::ui {

class TrainPanel : public QWidget {
  Q_OBJECT
 public:
  explicit TrainPanel(QWidget* parent = nullptr);
  ~TrainPanel() override;

  // The `setok` program: $SETOK_CLI, else beside this executable.
  static QString cliPath();
  // The first stage of the bundled model's recipe (resources/configs/setok-small/01-first.json,
  // beside the bundled models), which the panel starts from; empty when there is none.
  static QString bundledRecipe();

  QJsonObject config() const;  // the form as a training config
  void setConfig(const QJsonObject& c);
  bool loadConfig(const QString& path, QString* error);
  bool saveConfig(const QString& path, QString* error) const;

  bool isRunning() const;
  // What keeps the form from starting a run (one sentence), or empty when it can start.
  QString formProblem() const;
  // Points on the chart of one series ("loss", "loss_rec", "loss_concept", "loss_grouping", "images_per_s").
  int pointCount(const QString& series) const;
  qint64 processId() const;
  QString lastModelDir() const { return modelDir_; }

  // Asks before stopping a running training; returns false if the user wants to keep it.
  bool confirmClose();

 public Q_SLOTS:
  void start();
  void pause();
  void resume();
  void stop();
  void generateWorld();

 protected:
  void resizeEvent(QResizeEvent* e) override;

 Q_SIGNALS:
  void openModelRequested(const QString& dir);
  void finished(int exitCode);
  void eventReceived(const QJsonObject& event);

 private:
  void buildFields();
  QWidget* buildForm();
  QHBoxLayout* buildButtons();
  QWidget* buildCharts();
  void arrange(bool besideCharts);
  void layoutForm(int columns);  // the form beside the charts, or as their first tab
  void launch(const QStringList& extra);
  void checkForm();
  void resetResult();  // a new run: no model, no evaluation yet
  void updateOpenButton();
  void openResult();
  void onStdout();
  void onEvent(const QJsonObject& e);
  void onFinished(int code, QProcess::ExitStatus status);
  void runEvaluation();
  void setRunning(bool running);
  void appendLog(const QString& line);
  void noteRankLine(const QString& line);  // "setok launch: rank R …" or "setok: rank R of N: …"

  QLineEdit *data_, *valData_, *out_;
  QSpinBox *steps_, *batch_, *warmup_, *ckptEvery_, *seed_, *maxTokens_;
  QSpinBox* processes_;      // data-parallel ranks on this machine (`setok launch --nproc N`)
  QLabel* ranks_ = nullptr;  // each rank's state, from the launcher's lines
  QMap<int, QString> rankStates_;
  QDoubleSpinBox *lr_, *recW_, *conceptW_, *groupW_;
  QComboBox* device_;
  QCheckBox* bf16_;  // bf16 autocast: `mixed_precision` on CUDA, `cpu_bf16` on the CPU
  QPushButton *startBtn_, *pauseBtn_, *resumeBtn_, *stopBtn_, *openBtn_;
  QLabel* status_ = nullptr;
  QLabel* formError_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QChartView* lossView_ = nullptr;
  QSplitter* split_ = nullptr;
  QWidget* form_ = nullptr;
  QGridLayout* formGrid_ = nullptr;
  std::vector<std::pair<QLabel*, QWidget*>> formFields_;
  int formColumns_ = 0;
  bool formBeside_ = false;
  QPlainTextEdit* log_;
  QTableWidget* metrics_;
  QChart* lossChart_;
  QChart* speedChart_;
  QValueAxis *lossX_, *lossY_, *speedX_, *speedY_;
  QMap<QString, QLineSeries*> series_;
  QProcess* proc_ = nullptr;
  QProcess* evalProc_ = nullptr;
  QByteArray pending_;
  QJsonObject baseConfig_;  // keys the form does not show are kept as loaded
  QString configPath_;
  QString modelDir_;     // this run's result: its final model, or the checkpoint a pause left
  int resultStep_ = -1;  // the checkpoint's step when modelDir_ is one; -1 for a final model
  double maxLoss_ = 0, maxSpeed_ = 0;
  bool started_ = false;  // the child reported "start": its pause handler is installed
};

}  // namespace setok::ui
