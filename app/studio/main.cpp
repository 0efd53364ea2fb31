// setok-studio: the desktop application.
// `setok-studio [IMAGE] [--screenshot PATH [--view tokens|reconstruction|compare]] [--bench-open IMAGE]
// [--bench-segment IMAGE] [--segment EXPRESSION] [--edit INSTRUCTION]`.
#include <QApplication>
#include <QCommandLineParser>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QLineEdit>
#include <QSaveFile>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <QCheckBox>
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/runtime/openmp_policy.h"
#include "core/runtime/threads.h"
#include "ui/chat_panel.h"
#include "ui/edit_panel.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/segment_panel.h"
#include "ui/stall_probe.h"
#include "ui/tokens_panel.h"

namespace {

int fail(const QString& why) {
  std::fprintf(stderr, "setok-studio: %s\n", why.toLocal8Bit().constData());
  return 1;
}

// Runs the event loop until `signal` fires on `obj` or `ms` pass; false on timeout.
template <class Obj, class Signal>
bool wait_for(Obj* obj, Signal signal, int ms) {
  QEventLoop loop;
  bool fired = false;
  auto c = QObject::connect(obj, signal, &loop, [&] {
    fired = true;
    loop.quit();
  });
  QTimer::singleShot(ms, &loop, &QEventLoop::quit);
  loop.exec();
  QObject::disconnect(c);
  return fired;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Figures for docs/benchmarks.md: open → overlay on screen, re-tokenize latency on a parameter
// change, and the longest GUI-thread stall while the engine works.
int bench_open(setok::ui::MainWindow& w, const QString& path) {
  using setok::ui::MainWindow;
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return fail("the window was never shown");
  setok::ui::StallProbe probe;
  probe.start();
  QElapsedTimer t;
  double open_ms[2];
  for (double& ms : open_ms) {  // cold (the model is created by the first request), then warm
    t.start();
    QString error;
    if (!w.loadImage(path, &error)) return fail(error);
    if (!wait_for(&w, &MainWindow::tokensShown, 120000)) return fail("no tokens after 120 s");
    ms = t.nsecsElapsed() / 1e6;
  }
  const double open_stall = probe.worstMs(), open_own = probe.worstOwnMs();
  const int tokens0 = static_cast<int>(w.currentTokens()->tokens.size());

  probe.start();
  std::vector<double> change_ms, engine_ms;
  setok::tokenizer::ClusterParams p = w.clusterParams().value_or(w.currentTokens()->params);
  const int base = p.max_tokens;
  for (int i = 0; i < 20; ++i) {
    p.max_tokens = i % 2 ? base : std::max(2, base / 2);
    t.start();
    w.setClusterParams(p);
    if (!wait_for(&w, &MainWindow::tokensShown, 30000)) return fail("no tokens after a parameter change");
    change_ms.push_back(t.nsecsElapsed() / 1e6);
    engine_ms.push_back(w.currentTokens()->ms.total_ms);
  }
  const double change_stall = probe.worstMs(), change_own = probe.worstOwnMs();

  // A burst: 20 full tokenizations queued at once (the worker is busy for a while).
  setok::io::Image img = setok::io::load_image(path.toStdString());
  probe.start();
  t.start();
  for (int i = 0; i < 20; ++i) w.bridge()->tokenize(img, p);
  while (w.bridge()->inFlight() > 0) QTest::qWait(5);
  const double burst_ms = t.nsecsElapsed() / 1e6;
  const double burst_stall = probe.worstMs(), burst_own = probe.worstOwnMs();
  probe.stop();

  const auto& r = *w.currentTokens();
  std::printf("image            %s (%dx%d), %d tokens, %dx%d patch grid\n", path.toLocal8Bit().constData(), r.width,
              r.height, tokens0, r.grid_w, r.grid_h);
  std::printf("model            %s%s\n", r.model_name.c_str(), r.trained ? "" : " [untrained]");
  std::printf("open → overlay   cold %.0f ms (creates the model), warm %.0f ms\n", open_ms[0], open_ms[1]);
  std::printf("parameter change median %.1f ms on screen (50 ms debounce included), engine %.1f ms, n=20\n",
              median(change_ms), median(engine_ms));
  std::printf("20 queued tokenizations  %.0f ms\n", burst_ms);
  std::printf("GUI stall (worst gap of a 5 ms timer)  open %.1f ms, changes %.1f ms, burst %.1f ms\n", open_stall,
              change_stall, burst_stall);
  std::printf("  of which the GUI thread's own (waits for a CPU left out)  %.1f, %.1f, %.1f ms\n", open_own, change_own,
              burst_own);
  return 0;
}

// Clicks a point of the image on the canvas (a real mouse press and release) and waits for the
// Segment tool's mask on screen: the result applied, then the canvas's next frame. Milliseconds,
// or -1 on timeout.
double click_to_frame(setok::ui::ImageCanvas* canvas, setok::ui::SegmentPanel* panel, QPointF image_pos,
                      Qt::MouseButton button) {
  QElapsedTimer t;
  const QPoint at = canvas->imageToWidget(image_pos).toPoint();
  t.start();
  QTest::mouseClick(canvas, button, {}, at);
  if (!wait_for(panel, &setok::ui::SegmentPanel::resultShown, 30000)) return -1;
  if (!wait_for(canvas, &QOpenGLWidget::frameSwapped, 1000)) return -1;
  return t.nsecsElapsed() / 1e6;
}

// Figures for docs/benchmarks.md: the Segment tool as a user feels it. The first click right after
// the image opens (its encoding in the background), then 20 clicks (a new mask every 5, left and
// right clicks) and 20 hover previews, each to the canvas's next frame; the longest GUI-thread stall
// of the clicking; the process's peak memory with the SeTok and SeTokim loaded.
// Ten clicks refining one mask around (cx, cy) of the image, as a user finishes an object: a
// positive click, then clicks close by, every third one negative. Each click's time to the screen
// goes to `ms`; `zoomed` counts those that looked at a crop (the panel's status says so).
bool refine_one_object(setok::ui::ImageCanvas* canvas, setok::ui::SegmentPanel* panel, double cx, double cy,
                       double step, std::vector<double>& ms, int& zoomed) {
  panel->addMask();
  for (int i = 0; i < 10; ++i) {
    const double dx = step * ((i % 3) - 1), dy = step * (((i / 3) % 3) - 1);
    const bool negative = i % 3 == 2;
    const QPointF p{cx + (negative ? 3 * step : dx), cy + dy};
    const double t = click_to_frame(canvas, panel, p, negative ? Qt::RightButton : Qt::LeftButton);
    if (t < 0) return false;
    ms.push_back(t);
    zoomed += panel->statusText().contains("zoomed in");
  }
  return true;
}

int bench_segment(setok::ui::MainWindow& w, const QString& path) {
  using setok::ui::SegmentPanel;
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return fail("the window was never shown");
  SegmentPanel* panel = w.segmentPanel();
  if (QDockWidget* d = w.panel("Edit")) d->raise();
  panel->setActive(true);
  setok::ui::ImageCanvas* canvas = w.canvas();
  QString error;
  if (!w.loadImage(path, &error)) return fail(error);
  if (!wait_for(&w, &setok::ui::MainWindow::tokensShown, 120000)) return fail("no tokens after 120 s");
  const auto r = w.currentTokens();
  const double W = r->width, H = r->height;
  const double first = click_to_frame(canvas, panel, {W * 0.5, H * 0.5}, Qt::LeftButton);
  if (first < 0) return fail("no mask after the first click (" + panel->statusText() + ")");
  setok::ui::StallProbe probe;
  probe.start();
  std::vector<double> clicks, hovers;
  for (int i = 0; i < 20; ++i) {
    if (i % 5 == 0) panel->addMask();
    const QPointF p{W * (0.2 + 0.15 * (i % 5)), H * (0.25 + 0.2 * (i / 5))};
    const double ms = click_to_frame(canvas, panel, p, i % 5 == 3 ? Qt::RightButton : Qt::LeftButton);
    if (ms < 0) return fail("no mask after a click (" + panel->statusText() + ")");
    clicks.push_back(ms);
  }
  std::vector<double> refining;
  int zoomed = 0;
  if (!refine_one_object(canvas, panel, W * 0.53, H * 0.47, W * 0.02, refining, zoomed))
    return fail("no mask after a refining click (" + panel->statusText() + ")");
  const double click_stall = probe.worstMs(), click_own = probe.worstOwnMs(), click_cpu = probe.worstCpuMs();
  panel->addMask();
  for (int i = 0; i < 20; ++i) {
    QElapsedTimer t;
    t.start();
    QTest::mouseMove(canvas, canvas->imageToWidget({W * (0.15 + 0.035 * i), H * (0.3 + 0.02 * i)}).toPoint());
    if (!wait_for(panel, &SegmentPanel::previewShown, 30000)) return fail("no hover preview");
    if (!wait_for(canvas, &QOpenGLWidget::frameSwapped, 1000)) return fail("no frame after a hover preview");
    hovers.push_back(t.nsecsElapsed() / 1e6);
  }
  const double all_stall = probe.worstMs(), all_own = probe.worstOwnMs(), all_cpu = probe.worstCpuMs();
  probe.stop();
  std::printf("image            %s (%dx%d)\n", path.toLocal8Bit().constData(), r->width, r->height);
  std::printf("first click on the new image → mask on screen  %.1f ms\n", first);
  std::printf("click → mask on screen   median %.1f ms, worst %.1f ms, n=20\n", median(clicks),
              *std::max_element(clicks.begin(), clicks.end()));
  std::printf("refining one object → mask on screen  median %.1f ms, worst %.1f ms, n=10 (%d zoomed in)\n",
              median(refining), *std::max_element(refining.begin(), refining.end()), zoomed);
  std::printf("hover → preview on screen  median %.1f ms, worst %.1f ms, n=20\n", median(hovers),
              *std::max_element(hovers.begin(), hovers.end()));
  std::printf("GUI stall (worst gap of a 5 ms timer)  clicks %.1f ms, clicks and hovers %.1f ms\n", click_stall,
              all_stall);
  std::printf("  of which the GUI thread's own (waits for a CPU left out)  %.1f, %.1f ms\n", click_own, all_own);
  std::printf("  the GUI thread's most CPU time between two ticks  %.1f, %.1f ms\n", click_cpu, all_cpu);
  std::printf("peak RSS         %.0f MiB (SeTok and SeTokim loaded)\n", setok::peak_resident_bytes() / 1048576.0);
  return 0;
}

}  // namespace

namespace {

// --help and --version need no display: answered before a QApplication (which needs one) exists.
bool wants_help_or_version(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const QByteArray a(argv[i]);
    if (a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version") return true;
  }
  return false;
}

// Screenshots and benchmarks start from an empty settings folder, removed when they end: the same
// picture and figures whatever the user saved, and nothing of the user's is changed.
void use_fresh_settings(const QTemporaryDir& dir) {
  for (auto format : {QSettings::NativeFormat, QSettings::IniFormat})
    QSettings::setPath(format, QSettings::UserScope, dir.path());
}

// The options besides --help, --version and the image.
struct Options {
  QCommandLineOption screenshot{"screenshot", "Render the window after loading to PATH (PNG) and exit.", "PATH"};
  QCommandLineOption threads{"threads", "Intra-op threads (default: $SETOK_THREADS, else all cores).", "N"};
  QCommandLineOption size{"size", "Window size for --screenshot, WxH (default 1280x800).", "WxH", "1280x800"};
  QCommandLineOption view{"view",
                          "For --screenshot: tokens (the canvas and Tokens panel), reconstruction (the same with the "
                          "tokens' reconstruction in place of the image) or compare.",
                          "VIEW", "tokens"};
  QCommandLineOption bench{"bench-open", "Print open/re-tokenize latency and GUI stalls for IMAGE, then exit.",
                           "IMAGE"};
  QCommandLineOption benchSegment{"bench-segment",
                                  "Print the Segment tool's click and hover latency and GUI stalls for IMAGE, then "
                                  "exit.",
                                  "IMAGE"};
  QCommandLineOption ask{"ask",
                         "For --screenshot: ask the Chat panel QUESTION about the image first, and show what the "
                         "answer attended to.",
                         "QUESTION"};
  QCommandLineOption segment{"segment",
                             "For --screenshot: segment EXPRESSION with the Segment tool (the Edit dock) and show "
                             "the mask, its alternatives and their predicted IoU.",
                             "EXPRESSION"};
  QCommandLineOption edit{"edit",
                          "For --screenshot: preview INSTRUCTION with the Edit tool (the Edit dock) and show it "
                          "half before, half after.",
                          "INSTRUCTION"};
  QCommandLineOption pixelEdges{"pixel-edges", "Token masks with pixel edges (the Tokens panel's setting)."};
};

// A QCoreApplication for --help and --version, else the QApplication. `argc` must outlive it.
std::unique_ptr<QCoreApplication> make_application(int& argc, char** argv) {
  std::unique_ptr<QCoreApplication> appPtr;
  if (wants_help_or_version(argc, argv)) {
    appPtr = std::make_unique<QCoreApplication>(argc, argv);
  } else {
    QApplication::setAttribute(Qt::AA_ShareOpenGLContexts);
    // Fractional scale factors as the desktop sets them (125 %, 150 %), not rounded to integers.
    QApplication::setHighDpiScaleFactorRoundingPolicy(Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
    appPtr = std::make_unique<QApplication>(argc, argv);
  }
  QCoreApplication::setOrganizationName("SeTok");
  QCoreApplication::setApplicationName("SeTok Studio");
  QCoreApplication::setApplicationVersion(SETOK_VERSION);
  return appPtr;
}

// Reads the command line; --help and --version print and exit here.
void parse_command_line(QCommandLineParser& cli, const Options& o, QCoreApplication& app) {
  cli.setApplicationDescription("SeTok Studio: chat with images, inspect their semantic tokens, train models.");
  cli.addHelpOption();
  cli.addVersionOption();
  cli.addPositionalArgument("image", "Image to open");
  cli.addOptions(
      {o.screenshot, o.threads, o.size, o.view, o.bench, o.benchSegment, o.ask, o.segment, o.edit, o.pixelEdges});
  cli.process(app);
}

// --threads, else $SETOK_THREADS, else all cores. 0, or the exit status of the failure.
int apply_threads_option(const QCommandLineParser& cli, const QCommandLineOption& threads) {
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
  return 0;
}

// --screenshot: the window's --size and --view. 0, or the exit status of the failure.
int set_up_screenshot(setok::ui::MainWindow& w, const QCommandLineParser& cli, const Options& o) {
  QStringList wh = cli.value(o.size).split('x');
  if (wh.size() != 2 || wh[0].toInt() < 200 || wh[1].toInt() < 150) return fail("--size must be WxH, e.g. 1280x800");
  w.resize(wh[0].toInt(), wh[1].toInt());
  const QString v = cli.value(o.view);
  if (v != "tokens" && v != "reconstruction" && v != "compare")
    return fail("--view must be tokens, reconstruction or compare");
  w.setComparing(v == "compare");
  w.setShowingReconstruction(v == "reconstruction");
  return 0;
}

// The image named on the command line, if any: loaded now for a screenshot, else opened once the
// event loop runs. 0, or the exit status of the failure.
int open_image_argument(setok::ui::MainWindow& w, const QStringList& args, bool shot) {
  if (!args.isEmpty()) {
    QString error;
    if (shot) {
      if (!w.loadImage(args.first(), &error)) return fail(error);
    } else {
      QTimer::singleShot(0, &w, [&w, p = args.first()] { w.openImage(p); });
    }
  }
  return 0;
}

// --ask: the Chat panel's answer about the image, its attention on the canvas.
int ask_chat(setok::ui::MainWindow& w, const QString& question) {
  setok::ui::ChatPanel* chat = w.chatPanel();
  if (QDockWidget* d = w.panel("Chat")) d->raise();
  QElapsedTimer t;
  t.start();
  auto idle = [&] {
    while (chat->busy() && t.elapsed() < 120000) QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    return !chat->busy();
  };
  if (!idle() || chat->modelDir().isEmpty()) return fail("--ask: no SeTokim model (bundled, or $SETOK_CHAT_MODEL)");
  chat->ask(question);
  if (!idle()) return fail("--ask: no answer after 120 s");
  chat->hoverRow(chat->rowCount() - 1);
  return 0;
}

// --segment: the Segment tool's answer to an expression, drawn on the canvas.
int segment_expression(setok::ui::MainWindow& w, const QString& expression) {
  setok::ui::SegmentPanel* panel = w.segmentPanel();
  if (QDockWidget* d = w.panel("Edit")) d->raise();
  panel->setActive(true);
  panel->expressionField()->setText(expression);
  QTimer::singleShot(0, panel, [panel] { panel->segmentExpression(); });
  if (!wait_for(panel, &setok::ui::SegmentPanel::resultShown, 120000))
    return fail("--segment: no mask after 120 s (" + panel->statusText() + ")");
  return 0;
}

// --edit: the Edit tool's preview of an instruction, wiped half before, half after on the canvas.
int edit_instruction(setok::ui::MainWindow& w, const QString& instruction) {
  setok::ui::EditPanel* panel = w.editPanel();
  if (QDockWidget* d = w.panel("Edit")) d->raise();
  if (auto* tabs = w.findChild<QTabWidget*>("editTools")) tabs->setCurrentIndex(1);
  panel->instructionField()->setText(instruction);
  QTimer::singleShot(0, panel, [panel] { panel->preview(); });
  if (!wait_for(panel, &setok::ui::EditPanel::finished, 120000))
    return fail("--edit: no preview after 120 s (" + panel->statusText() + ")");
  if (panel->hasPreview()) panel->setWipe(50);
  return 0;
}

// The window, once the engine's result is on screen (and the chat's answer, with --ask), as a PNG.
int take_screenshot(QCoreApplication& app, setok::ui::MainWindow& w, const QCommandLineParser& cli, const Options& o,
                    bool has_image) {
  int rc = 0;
  // Wait for the engine's result (tokens, or the comparison) before taking the picture.
  if (has_image) {
    const bool ok = w.comparing() ? wait_for(&w, &setok::ui::MainWindow::comparisonShown, 60000)
                                  : wait_for(&w, &setok::ui::MainWindow::tokensShown, 60000);
    if (!ok) return fail("no tokens after 60 s");
  }
  if (cli.isSet(o.ask)) {
    if (const int asked = ask_chat(w, cli.value(o.ask))) return asked;
  }
  if (cli.isSet(o.segment)) {
    if (const int done = segment_expression(w, cli.value(o.segment))) return done;
  }
  if (cli.isSet(o.edit)) {
    if (const int done = edit_instruction(w, cli.value(o.edit))) return done;
  }
  QTimer::singleShot(300, &w, [&] {
    QImage img = w.grab().toImage();
    QSaveFile f(cli.value(o.screenshot));
    if (img.isNull() || !f.open(QIODevice::WriteOnly) || !img.save(&f, "PNG") || !f.commit())
      rc = fail("cannot write screenshot " + cli.value(o.screenshot));
    app.quit();
  });
  app.exec();
  return rc;
}

int run(int argc, char** argv) {
  setok::ensure_passive_openmp(argv);
  std::unique_ptr<QCoreApplication> appPtr = make_application(argc, argv);
  QCoreApplication& app = *appPtr;
  const Options o;
  QCommandLineParser cli;
  parse_command_line(cli, o, app);
  if (!qobject_cast<QApplication*>(&app)) return 0;  // help and version exit in process()

  QTemporaryDir freshSettings;
  if (cli.isSet(o.screenshot) || cli.isSet(o.bench) || cli.isSet(o.benchSegment)) {
    if (!freshSettings.isValid()) return fail("cannot make a temporary settings folder");
    use_fresh_settings(freshSettings);
  }
  if (const int rc = apply_threads_option(cli, o.threads)) return rc;

  setok::ui::MainWindow w;
  if (cli.isSet(o.bench)) {
    w.resize(1280, 800);
    return bench_open(w, cli.value(o.bench));
  }
  if (cli.isSet(o.benchSegment)) {
    w.resize(1280, 800);
    return bench_segment(w, cli.value(o.benchSegment));
  }
  if (cli.isSet(o.pixelEdges)) w.tokensPanel()->pixelEdgesBox()->setChecked(true);
  const QStringList args = cli.positionalArguments();
  const bool shot = cli.isSet(o.screenshot);
  if (shot) {
    if (const int rc = set_up_screenshot(w, cli, o)) return rc;
  }
  if (const int rc = open_image_argument(w, args, shot)) return rc;
  w.show();
  if (!shot) return app.exec();
  return take_screenshot(app, w, cli, o, !args.isEmpty());
}

}  // namespace

int main(int argc, char** argv) {
  setok::configure_allocator();
  const int rc = run(argc, argv);
  // Qt Charts keeps a static text document whose destructor, run after the application and its
  // OpenGL contexts are gone, can free an OpenGL glyph cache and crash. The application and every
  // window are destroyed (and settings written) by now; skip the static destructors.
  std::fflush(nullptr);
  std::_Exit(rc);
}
