// GoogleTest main for widget tests: one QApplication for the whole run. Every test starts with an
// empty settings folder of its own (QSettings' user scope and, for programs the test starts,
// $XDG_CONFIG_HOME), so no test depends on or changes a user's saved studio, or another test's.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <QApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

class FreshSettingsPerTest : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    dir_ = std::make_unique<QTemporaryDir>();
    if (!dir_->isValid()) {
      std::fprintf(stderr, "gui tests: cannot make a temporary settings folder\n");
      std::_Exit(1);
    }
    const QString path = dir_->path();
    for (auto format : {QSettings::NativeFormat, QSettings::IniFormat})
      QSettings::setPath(format, QSettings::UserScope, path);
    ::setenv("XDG_CONFIG_HOME", path.toLocal8Bit().constData(), 1);
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    QSettings().sync();
    dir_.reset();
  }

 private:
  std::unique_ptr<QTemporaryDir> dir_;
};

}  // namespace

int main(int argc, char** argv) {
  int rc = 0;
  {
    QApplication::setAttribute(Qt::AA_ShareOpenGLContexts);
    QStandardPaths::setTestModeEnabled(true);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("SeTokTest");
    QApplication::setApplicationName("SeTok Studio Tests");
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::UnitTest::GetInstance()->listeners().Append(new FreshSettingsPerTest);
    rc = RUN_ALL_TESTS();
  }
  // Qt Charts keeps a static text document whose destructor, run after the application and its
  // OpenGL contexts are gone, frees an OpenGL glyph cache and crashes. Everything of ours is
  // destroyed by now; skip the static destructors.
  std::fflush(nullptr);
  std::_Exit(rc);
}
