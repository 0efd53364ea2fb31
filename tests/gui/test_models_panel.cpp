// The Models panel lists model folders with their size, and loads one into the inspector.
#include <gtest/gtest.h>

#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include "core/nn/state_dict.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"
#include "ui/main_window.h"
#include "ui/models_panel.h"

using namespace setok;

namespace {
QString make_model(const test::TempDir& d, const std::string& name, int64_t* params = nullptr) {
  tokenizer::SetokModel m(test::ToyScenes::tiny_model());
  tokenizer::save_setok(d / name, m);
  if (params) {
    *params = 0;
    for (const auto& [k, v] : nn::state_dict(*m)) *params += v.numel();
  }
  return QString::fromStdString(d / name);
}
}  // namespace

TEST(ModelsPanel, ListsAddedFoldersWithParameterCounts) {
  QSettings().remove("models/folders");
  test::TempDir d;
  int64_t params = 0;
  QString a = make_model(d, "alpha", &params);
  make_model(d, "beta");
  ui::ModelsPanel panel;
  QString err;
  ASSERT_TRUE(panel.addFolder(QString::fromStdString(d.path().string()), &err)) << err.toStdString();
  EXPECT_GE(panel.rowOf(a), 0);
  EXPECT_EQ(panel.modelPaths().filter("beta").size(), 1);
  auto* table = panel.findChild<QTableWidget*>("modelsTable");
  const int r = panel.rowOf(a);
  EXPECT_EQ(table->item(r, 2)->data(Qt::UserRole).toULongLong(), static_cast<qulonglong>(params));
  EXPECT_EQ(table->item(r, 4)->text(), "no");
  EXPECT_EQ(table->item(r, 1)->text(), "setok");
  std::filesystem::create_directories(d / "empty");
  EXPECT_FALSE(panel.addFolder(QString::fromStdString(d / "empty"), &err));
  EXPECT_TRUE(err.contains("no model folder"));
  ui::ModelsPanel again;  // the list survives a restart
  EXPECT_GE(again.rowOf(a), 0);
  QSettings().remove("models/folders");
}

TEST(ModelsPanel, LoadsIntoTheInspectorAndUnloads) {
  QSettings().remove("models/folders");
  test::TempDir d;
  QString a = make_model(d, "gamma");
  ui::MainWindow w;
  w.show();
  ASSERT_TRUE(w.loadImage(QString(SETOK_SAMPLES) + "/coffee.png", nullptr));
  ui::ModelsPanel* panel = w.modelsPanel();
  ASSERT_NE(panel, nullptr);
  QString err;
  ASSERT_TRUE(panel->addFolder(a, &err));
  QSignalSpy shown(&w, &ui::MainWindow::tokensShown);
  Q_EMIT panel->loadRequested(a);
  EXPECT_EQ(w.modelDir(), a);
  EXPECT_EQ(panel->active(), a);
  QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 60000);  // the image is re-tokenized by the new model
  Q_EMIT panel->loadRequested(QString());
  EXPECT_TRUE(w.modelDir().isEmpty());
  EXPECT_TRUE(panel->active().isEmpty());
  QSettings().remove("models/folders");
}

// Each row says what the model is: a training run's OUT/model and OUT/checkpoint by their run's
// name (runs are told apart), and the bundled models as trained.
TEST(ModelsPanel, NamesRunsByTheirRunAndBundledModelsAsTrained) {
  test::TempDir d;
  std::filesystem::create_directories(d / "run-a");
  std::filesystem::create_directories(d / "run-b");
  QString a = make_model(d, "run-a/model");
  QString b = make_model(d, "run-b/checkpoint");
  ui::ModelsPanel panel;
  QString err;
  ASSERT_TRUE(panel.addFolder(a, &err)) << err.toStdString();
  ASSERT_TRUE(panel.addFolder(b, &err)) << err.toStdString();
  auto* table = panel.findChild<QTableWidget*>("modelsTable");
  EXPECT_EQ(table->item(panel.rowOf(a), 0)->text(), "run-a/model");
  EXPECT_EQ(table->item(panel.rowOf(b), 0)->text(), "run-b/checkpoint");
  const std::string bundled = tokenizer::bundled_models_dir();
  if (bundled.empty()) GTEST_SKIP() << "no bundled models";
  for (const char* name : {"setok-small", "setokim-small"}) {
    const int r = panel.rowOf(QString::fromStdString((std::filesystem::path(bundled) / name).string()));
    ASSERT_GE(r, 0) << name;
    EXPECT_EQ(table->item(r, 0)->text(), name);
    EXPECT_EQ(table->item(r, 4)->text(), "yes") << name;
  }
}

// A model opened from elsewhere (the Train panel's "Open in inspector") joins the list, named by
// its run, so it can be chosen again later.
TEST(ModelsPanel, AModelOpenedElsewhereJoinsTheList) {
  test::TempDir d;
  std::filesystem::create_directories(d / "my-run");
  QString a = make_model(d, "my-run/model");
  ui::MainWindow w;
  ui::ModelsPanel* panel = w.modelsPanel();
  ASSERT_LT(panel->rowOf(a), 0);
  w.openModel(a);
  const int r = panel->rowOf(a);
  ASSERT_GE(r, 0);
  EXPECT_EQ(panel->findChild<QTableWidget*>("modelsTable")->item(r, 0)->text(), "my-run/model");
  EXPECT_EQ(panel->active(), a);
}
