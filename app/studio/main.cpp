// setok-studio: the desktop application. `setok-studio [IMAGE] [--screenshot PATH]`.
#include <QApplication>
#include <QCommandLineParser>
#include <QSaveFile>
#include <QTimer>
#include <cstdio>

#include "core/runtime/error.h"
#include "core/runtime/openmp_policy.h"
#include "core/runtime/threads.h"
#include "ui/main_window.h"

namespace {

int fail(const QString& why) {
  std::fprintf(stderr, "setok-studio: %s\n", why.toLocal8Bit().constData());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  setok::ensure_passive_openmp(argv);
  QApplication::setAttribute(Qt::AA_ShareOpenGLContexts);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("SeTok");
  QApplication::setApplicationName("SeTok Studio");
  QApplication::setApplicationVersion(SETOK_VERSION);

  QCommandLineParser cli;
  cli.setApplicationDescription("SeTok Studio: chat with images, inspect their semantic tokens, train models.");
  cli.addHelpOption();
  cli.addVersionOption();
  cli.addPositionalArgument("image", "Image to open");
  QCommandLineOption screenshot("screenshot", "Render the window after loading to PATH (PNG) and exit.", "PATH");
  QCommandLineOption threads("threads", "Intra-op threads (default: $SETOK_THREADS, else all cores).", "N");
  QCommandLineOption size("size", "Window size for --screenshot, WxH (default 1280x800).", "WxH", "1280x800");
  cli.addOptions({screenshot, threads, size});
  cli.process(app);

  try {
    std::optional<int> n;
    if (cli.isSet(threads)) {
      bool ok = false;
      n = cli.value(threads).toInt(&ok);
      if (!ok) return fail("--threads must be a positive integer");
    }
    setok::configure_threads(n);
  } catch (const setok::Error& e) {
    return fail(e.what());
  }

  setok::ui::MainWindow w;
  const QStringList args = cli.positionalArguments();
  const bool shot = cli.isSet(screenshot);
  if (shot) {
    QStringList wh = cli.value(size).split('x');
    if (wh.size() != 2 || wh[0].toInt() < 200 || wh[1].toInt() < 150) return fail("--size must be WxH, e.g. 1280x800");
    w.resize(wh[0].toInt(), wh[1].toInt());
  }
  if (!args.isEmpty()) {
    QString error;
    if (shot) {
      if (!w.loadImage(args.first(), &error)) return fail(error);
    } else {
      QTimer::singleShot(0, &w, [&w, p = args.first()] { w.openImage(p); });
    }
  }
  w.show();
  if (!shot) return app.exec();

  int rc = 0;
  QTimer::singleShot(300, &w, [&] {
    QImage img = w.grab().toImage();
    QSaveFile f(cli.value(screenshot));
    if (img.isNull() || !f.open(QIODevice::WriteOnly) || !img.save(&f, "PNG") || !f.commit())
      rc = fail("cannot write screenshot " + cli.value(screenshot));
    app.quit();
  });
  app.exec();
  return rc;
}
