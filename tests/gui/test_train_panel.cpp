// The Train panel launches real `setok train` processes and follows them live.
#include <gtest/gtest.h>
#include <signal.h>

#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <cstdio>
#include <filesystem>

#include "tests/support/run_process.h"
#include "tests/support/toy_scenes.h"
#include "ui/main_window.h"
#include "ui/stall_probe.h"
#include "ui/train_panel.h"

using setok::ui::TrainPanel;
using namespace setok::test;

namespace {

struct TrainPanelTest : ::testing::Test {
  static void SetUpTestSuite() {
    qputenv("SETOK_CLI", SETOK_CLI);
    dir = new TempDir();
    auto r = run_command(shell_quote(SETOK_CLI) + " data scenes --out " + shell_quote(*dir / "data") +
                         " --count 16 --size 64 --no-edits --seed 5");
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir; }

  QJsonObject config(const std::string& out, int steps) {
    nlohmann::json c = {{"model", ToyScenes::tiny_model().to_json()},
                        {"train_data", *dir / "data"},
                        {"out", *dir / out},
                        {"batch_size", 4},
                        {"steps", steps},
                        {"warmup_steps", 1},
                        {"checkpoint_every", 0},
                        {"log_every", 1},
                        {"text_encoder", {{"dim", 32}, {"layers", 1}, {"heads", 2}}}};
    return QJsonDocument::fromJson(QByteArray::fromStdString(c.dump())).object();
  }
  static TempDir* dir;
};
TempDir* TrainPanelTest::dir = nullptr;

bool process_alive(qint64 pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

}  // namespace

TEST(TrainPanelDefaults, ANewPanelStartsFromTheBundledRecipe) {
  const QString recipe = TrainPanel::bundledRecipe();
  if (recipe.isEmpty()) GTEST_SKIP() << "no bundled recipe beside the bundled models";
  QFile f(recipe);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  const QJsonObject want = QJsonDocument::fromJson(f.readAll()).object();
  TrainPanel panel;
  const QJsonObject got = panel.config();
  for (const char* key : {"steps", "batch_size", "warmup_steps", "seed"})
    EXPECT_EQ(got[key].toInt(), want[key].toInt()) << key;
  for (const char* key : {"lr", "concept_weight", "grouping_weight", "rec_weight"})
    EXPECT_DOUBLE_EQ(got[key].toDouble(), want[key].toDouble()) << key;
  EXPECT_EQ(got["model"].toObject(), want["model"].toObject()) << "the bundled model's architecture and cluster";
  // The recipe's data and output paths are relative to a checkout: the user picks their own.
  EXPECT_TRUE(got["train_data"].toString().isEmpty());
  EXPECT_NE(got["out"].toString(), want["out"].toString());
}

TEST_F(TrainPanelTest, TwentyStepRunChartsPointsAndStopEndsTheProcess) {
  TrainPanel panel;
  panel.setConfig(config("stop", 20000));
  panel.show();
  panel.start();
  ASSERT_TRUE(panel.isRunning());
  const qint64 pid = panel.processId();
  EXPECT_TRUE(process_alive(pid));
  QTRY_VERIFY_WITH_TIMEOUT(panel.pointCount("loss") >= 3, 120000);
  EXPECT_GE(panel.pointCount("loss_rec"), 3);
  EXPECT_GE(panel.pointCount("images_per_s"), 3);
  panel.stop();
  EXPECT_FALSE(panel.isRunning());
  QTRY_VERIFY_WITH_TIMEOUT(!process_alive(pid), 10000);
}

TEST_F(TrainPanelTest, FinishedRunIsEvaluatedAndCanBeOpened) {
  TrainPanel panel;
  panel.setConfig(config("full", 20));
  QSignalSpy done(&panel, &TrainPanel::finished);
  QSignalSpy open(&panel, &TrainPanel::openModelRequested);
  setok::ui::StallProbe probe;  // a figure for docs/benchmarks.md, not an assertion
  probe.start();
  panel.start();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 180000);
  probe.stop();
  std::printf("GUI-thread stall during a 20-step training run: longest %.1f ms over %d ticks\n", probe.worstMs(),
              probe.ticks());
  EXPECT_EQ(done.takeFirst().at(0).toInt(), 0);
  EXPECT_EQ(panel.pointCount("loss"), 20);
  EXPECT_TRUE(std::filesystem::exists(panel.lastModelDir().toStdString() + "/model.safetensors"));
  auto* metrics = panel.findChild<QTableWidget*>("trainMetrics");
  ASSERT_NE(metrics, nullptr);
  QTRY_VERIFY_WITH_TIMEOUT(metrics->rowCount() > 3, 120000);
  EXPECT_TRUE(metrics->item(0, 1)->text().startsWith("final model")) << metrics->item(0, 1)->text().toStdString();
  auto* openBtn = panel.findChild<QPushButton*>("trainOpen");
  ASSERT_NE(openBtn, nullptr);
  ASSERT_TRUE(openBtn->isEnabled());
  openBtn->click();
  ASSERT_EQ(open.count(), 1);
  EXPECT_EQ(open.takeFirst().at(0).toString(), panel.lastModelDir());
}

// Processes: 2 runs the same training as two data-parallel ranks through `setok launch`; the
// charts are rank 0's, and the state line names every rank's.
TEST_F(TrainPanelTest, TwoProcessesTrainTogetherAndEveryRankIsShown) {
  TrainPanel panel;
  panel.setConfig(config("ranks", 6));
  auto* processes = panel.findChild<QSpinBox*>("trainProcesses");
  ASSERT_NE(processes, nullptr);
  processes->setValue(2);
  QSignalSpy done(&panel, &TrainPanel::finished);
  panel.show();
  panel.start();
  auto* ranks = panel.findChild<QLabel*>("trainRanks");
  ASSERT_NE(ranks, nullptr);
  EXPECT_TRUE(ranks->isVisible());
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 180000);
  EXPECT_EQ(done.takeFirst().at(0).toInt(), 0);
  EXPECT_EQ(panel.pointCount("loss"), 6);  // rank 0's progress only
  EXPECT_TRUE(ranks->text().contains("rank 0: finished")) << ranks->text().toStdString();
  EXPECT_TRUE(ranks->text().contains("rank 1: finished")) << ranks->text().toStdString();
  EXPECT_TRUE(std::filesystem::exists(panel.lastModelDir().toStdString() + "/model.safetensors"));
}

TEST_F(TrainPanelTest, PauseKeepsACheckpointAndResumeContinues) {
  TrainPanel panel;
  panel.setConfig(config("pause", 20000));
  QSignalSpy done(&panel, &TrainPanel::finished);
  panel.start();
  QTRY_VERIFY_WITH_TIMEOUT(panel.pointCount("loss") >= 2, 120000);
  panel.pause();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
  EXPECT_EQ(done.takeFirst().at(0).toInt(), 0) << "a paused run exits cleanly";
  EXPECT_TRUE(panel.findChild<QWidget*>("trainStatus")->property("text").toString().startsWith("Paused"))
      << panel.findChild<QWidget*>("trainStatus")->property("text").toString().toStdString();
  EXPECT_TRUE(std::filesystem::exists(*dir / "pause/checkpoint/optimizer.pt"));
  const int before = panel.pointCount("loss");
  panel.resume();
  ASSERT_TRUE(panel.isRunning());
  QTRY_VERIFY_WITH_TIMEOUT(panel.pointCount("loss") > before, 120000);
  panel.stop();
}

TEST_F(TrainPanelTest, ConfigSavesAndLoads) {
  TrainPanel a, b;
  a.setConfig(config("cfg", 77));
  QString err;
  const QString path = QString::fromStdString(*dir / "cfg.json");
  ASSERT_TRUE(a.saveConfig(path, &err)) << err.toStdString();
  ASSERT_TRUE(b.loadConfig(path, &err)) << err.toStdString();
  EXPECT_EQ(b.config()["steps"].toInt(), 77);
  EXPECT_EQ(b.config()["model"].toObject()["vision_config"].toObject()["hidden_size"].toInt(), 32);
  // The precision box writes both autocast keys and reads back the CPU's.
  auto* bf16 = a.findChild<QCheckBox*>("trainBf16");
  ASSERT_NE(bf16, nullptr);
  for (bool on : {true, false}) {
    bf16->setChecked(on);
    ASSERT_TRUE(a.saveConfig(path, &err)) << err.toStdString();
    ASSERT_TRUE(b.loadConfig(path, &err)) << err.toStdString();
    EXPECT_EQ(b.config()["cpu_bf16"].toBool(), on);
    EXPECT_EQ(b.config()["mixed_precision"].toBool(), on);
    EXPECT_EQ(b.findChild<QCheckBox*>("trainBf16")->isChecked(), on);
  }
  EXPECT_FALSE(b.loadConfig(QString::fromStdString(*dir / "absent.json"), &err));
  EXPECT_TRUE(err.contains("absent.json"));
}

// Closing the studio while training runs asks first; "No" keeps both, "Yes" ends the child.
TEST_F(TrainPanelTest, ClosingTheWindowAsksAndLeavesNoOrphan) {
  setok::ui::MainWindow w;
  w.show();
  TrainPanel* panel = w.trainPanel();
  ASSERT_NE(panel, nullptr);
  panel->setConfig(config("close", 20000));
  panel->start();
  QTRY_VERIFY_WITH_TIMEOUT(panel->pointCount("loss") >= 1, 120000);
  const qint64 pid = panel->processId();
  auto answer = [](QMessageBox::StandardButton b) {
    QTimer::singleShot(300, [b] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) box->button(b)->click();
    });
  };
  answer(QMessageBox::No);
  EXPECT_FALSE(w.close()) << "the user chose to keep training";
  EXPECT_TRUE(panel->isRunning());
  answer(QMessageBox::Yes);
  EXPECT_TRUE(w.close());
  QTRY_VERIFY_WITH_TIMEOUT(!process_alive(pid), 10000);
}

// A paused run's Evaluation is of its own checkpoint, and says so; the next run starts on its
// chart with none of those figures.
TEST_F(TrainPanelTest, EvaluationIsOfThisRunAndSaysWhichModel) {
  TrainPanel panel;
  auto* metrics = panel.findChild<QTableWidget*>("trainMetrics");
  auto* tabs = panel.findChild<QTabWidget*>("trainTabs");
  QSignalSpy done(&panel, &TrainPanel::finished);
  panel.setConfig(config("eval-paused", 20000));
  panel.start();
  QTRY_VERIFY_WITH_TIMEOUT(panel.pointCount("loss") >= 2, 120000);
  panel.pause();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
  EXPECT_TRUE(panel.lastModelDir().endsWith("eval-paused/checkpoint")) << panel.lastModelDir().toStdString();
  QTRY_VERIFY_WITH_TIMEOUT(metrics->rowCount() > 3, 120000);
  EXPECT_EQ(tabs->currentWidget(), metrics);
  EXPECT_TRUE(metrics->item(0, 1)->text().startsWith("checkpoint of step"))
      << metrics->item(0, 1)->text().toStdString();
  EXPECT_EQ(metrics->item(0, 1)->toolTip(), panel.lastModelDir());

  panel.setConfig(config("eval-next", 20000));
  panel.start();
  EXPECT_EQ(tabs->currentWidget(), panel.findChild<QChartView*>("trainLossView")) << "a new run shows its loss chart";
  EXPECT_EQ(metrics->rowCount(), 0) << "the earlier run's figures are gone";
  EXPECT_TRUE(panel.lastModelDir().isEmpty());
  panel.stop();
}

// "Open in inspector" is there only for a run that has a model: not while it runs, not after Stop.
TEST_F(TrainPanelTest, OpenInInspectorNeedsAModel) {
  TrainPanel panel;
  auto* openBtn = panel.findChild<QPushButton*>("trainOpen");
  EXPECT_FALSE(openBtn->isEnabled());
  panel.setConfig(config("no-model", 20000));
  panel.start();
  EXPECT_FALSE(openBtn->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(panel.pointCount("loss") >= 1, 120000);
  panel.stop();
  EXPECT_FALSE(panel.isRunning());
  EXPECT_FALSE(openBtn->isEnabled()) << "a stopped run has no model to open";
  EXPECT_TRUE(panel.lastModelDir().isEmpty());
}

// A warm-up as long as the run is refused before anything starts, with the reason under the form.
TEST_F(TrainPanelTest, AWarmUpLongerThanTheRunIsRefused) {
  TrainPanel panel;
  panel.show();
  QJsonObject c = config("warmup", 20);
  c["warmup_steps"] = 50;
  panel.setConfig(c);
  auto* why = panel.findChild<QLabel*>("trainFormError");
  ASSERT_NE(why, nullptr);
  EXPECT_TRUE(why->isVisible());
  EXPECT_TRUE(why->text().contains("Warm-up")) << why->text().toStdString();
  EXPECT_FALSE(panel.formProblem().isEmpty());
  panel.start();
  EXPECT_FALSE(panel.isRunning());
  EXPECT_FALSE(std::filesystem::exists(*dir / "warmup/train_config.json"));
  QTRY_VERIFY_WITH_TIMEOUT(panel.findChild<QMessageBox*>("trainError") != nullptr, 5000);
  panel.findChild<QMessageBox*>("trainError")->close();
  c["warmup_steps"] = 5;
  panel.setConfig(c);
  EXPECT_FALSE(why->isVisible());
  EXPECT_TRUE(panel.formProblem().isEmpty());
}
