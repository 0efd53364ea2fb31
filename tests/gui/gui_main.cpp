// GoogleTest main for widget tests: one QApplication for the whole run, settings kept apart
// from the user's (QStandardPaths test mode).
#include <gtest/gtest.h>

#include <QApplication>
#include <QStandardPaths>

int main(int argc, char** argv) {
  QApplication::setAttribute(Qt::AA_ShareOpenGLContexts);
  QStandardPaths::setTestModeEnabled(true);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("SeTokTest");
  QApplication::setApplicationName("SeTok Studio Tests");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
