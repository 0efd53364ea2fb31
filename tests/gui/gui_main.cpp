// GoogleTest main for widget tests: one QApplication for the whole run, settings kept apart
// from the user's (QStandardPaths test mode).
#include <gtest/gtest.h>

#include <QApplication>
#include <QStandardPaths>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  int rc = 0;
  {
    QApplication::setAttribute(Qt::AA_ShareOpenGLContexts);
    QStandardPaths::setTestModeEnabled(true);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("SeTokTest");
    QApplication::setApplicationName("SeTok Studio Tests");
    ::testing::InitGoogleTest(&argc, argv);
    rc = RUN_ALL_TESTS();
  }
  // Qt Charts keeps a static text document whose destructor, run after the application and its
  // OpenGL contexts are gone, frees an OpenGL glyph cache and crashes. Everything of ours is
  // destroyed by now; skip the static destructors.
  std::fflush(nullptr);
  std::_Exit(rc);
}
