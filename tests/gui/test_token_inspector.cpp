// The token inspector: the overlay on the canvas, hover and click selection against the engine's
// token map, live parameter changes, exports that round-trip, the comparison view, and a probe
// showing the GUI thread never stalls while the engine works.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QElapsedTimer>
#include <QMessageBox>
#include <QMouseEvent>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>
#include <QUndoStack>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/io/image.h"
#include "core/tokenizer/token_export.h"
#include "core/tokenizer/token_overlay.h"
#include "tests/support/temp_dir.h"
#include "ui/comparison_view.h"
#include "ui/image_canvas.h"
#include "ui/main_window.h"
#include "ui/stall_probe.h"
#include "ui/tokens_panel.h"

using setok::ui::MainWindow;
using setok::ui::TokenizePtr;

namespace {

QString sample() { return QString(SETOK_SAMPLES) + "/coffee.png"; }

struct Inspector : ::testing::Test {
  void SetUp() override {
    QSettings().clear();
    w = std::make_unique<MainWindow>();
    w->resize(1100, 750);
    w->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(w.get()));
  }
  void TearDown() override { w.reset(); }

  TokenizePtr open(const QString& path = sample()) {
    QSignalSpy shown(w.get(), &MainWindow::tokensShown);
    QString err;
    EXPECT_TRUE(w->loadImage(path, &err)) << err.toStdString();
    EXPECT_TRUE(shown.wait(60000)) << "no tokens on screen";
    return w->currentTokens();
  }
  // An image pixel deep inside a token (its 9×9 neighbourhood is that token), or (-1,-1).
  QPoint interior(const setok::engine::TokenizeResult& r, int token, int start = 0) const {
    for (int y = 4; y < r.height - 4; y += 3)
      for (int x = 4 + start; x < r.width - 4; x += 3) {
        bool ok = true;
        for (int dy = -4; dy <= 4 && ok; ++dy)
          for (int dx = -4; dx <= 4 && ok; ++dx)
            ok = r.map[static_cast<std::size_t>(y + dy) * r.width + x + dx] == token;
        if (ok) return {x, y};
      }
    return {-1, -1};
  }
  QPoint widgetPos(const QPoint& img) const {
    return w->canvas()->imageToWidget(QPointF(img) + QPointF(0.5, 0.5)).toPoint();
  }
  std::unique_ptr<MainWindow> w;
};

int token_with_interior(const Inspector& t, const setok::engine::TokenizeResult& r, int skip = -1) {
  int best = -1;
  std::int64_t area = 0;
  for (const auto& tok : r.tokens)
    if (tok.stat.index != skip && tok.stat.area > area && t.interior(r, tok.stat.index).x() >= 0)
      best = tok.stat.index, area = tok.stat.area;
  return best;
}

}  // namespace

TEST(CanvasFit, TheFittedImageMakesRoomForTheHeadsUpDisplay) {
  using setok::ui::ImageCanvas;
  const QSizeF hud(320, 225), square(128, 128);
  // A wide canvas: the centred fit (480 px) would run under the display, so the image goes left of it.
  const QRectF left = ImageCanvas::fitArea(QSizeF(745, 480), square, hud, 10);
  EXPECT_DOUBLE_EQ(left.left(), 0);
  EXPECT_DOUBLE_EQ(left.right(), 745 - 10 - 320 - 10);
  EXPECT_DOUBLE_EQ(left.height(), 480);
  // A tall canvas: the centred image stays clear of the display, so it keeps the whole canvas.
  EXPECT_EQ(ImageCanvas::fitArea(QSizeF(400, 900), square, hud, 10), QRectF(0, 0, 400, 900));
  // A short wide canvas with a wide image: below the display holds it larger than beside it.
  const QRectF below = ImageCanvas::fitArea(QSizeF(800, 600), QSizeF(400, 200), hud, 10);
  EXPECT_DOUBLE_EQ(below.top(), 10 + 225 + 10);
  EXPECT_DOUBLE_EQ(below.width(), 800);
  // A narrow canvas: the display never covers the image, however much room it costs (the canvas
  // folds the display first where that is more than a fifth; checked in StudioLayout).
  const QRectF narrow = ImageCanvas::fitArea(QSizeF(500, 480), square, hud, 10);
  EXPECT_FALSE(
      QRectF(500 - 10 - 320, 10, 320, 225)
          .intersects(QRectF(narrow.center() - QPointF(64, 64) * std::min(narrow.width(), narrow.height()) / 128,
                             QSizeF(128, 128) * std::min(narrow.width(), narrow.height()) / 128)));
  // No display: the whole canvas.
  EXPECT_EQ(ImageCanvas::fitArea(QSizeF(745, 480), square, QSizeF(), 10), QRectF(0, 0, 745, 480));
}

TEST_F(Inspector, OpeningAnImageDrawsItsTokenOverlay) {
  TokenizePtr r = open();
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->width, 600);
  ASSERT_FALSE(r->tokens.empty());
  EXPECT_EQ(w->tokensPanel()->table()->rowCount(), static_cast<int>(r->tokens.size()));
  auto* c = w->canvas();
  c->setHudVisible(false);
  const float a = c->opacity();
  // A pixel of each big token: the framebuffer there is the image with the token's colour blended in.
  int checked = 0;
  for (const auto& tok : r->tokens) {
    QPoint p = interior(*r, tok.stat.index);
    if (p.x() < 0) continue;
    QColor img = c->image().pixelColor(p);
    setok::tokenizer::Rgb col = setok::tokenizer::token_colour(tok.stat.index);
    const double er = img.red() * (1 - a) + col.r * a, eg = img.green() * (1 - a) + col.g * a,
                 eb = img.blue() * (1 - a) + col.b * a;
    QImage shot = c->grabFramebuffer();
    QColor got = shot.pixelColor(widgetPos(p) * shot.devicePixelRatio());
    EXPECT_NEAR(got.red(), er, 25) << "token " << tok.stat.index;
    EXPECT_NEAR(got.green(), eg, 25) << "token " << tok.stat.index;
    EXPECT_NEAR(got.blue(), eb, 25) << "token " << tok.stat.index;
    ++checked;
  }
  EXPECT_GE(checked, 2);
  // The HUD draws over the canvas's top right corner (its title bar, there open or folded).
  QImage without = c->grabFramebuffer();
  c->setHudVisible(true);
  QImage with = c->grabFramebuffer();
  const QPoint hud(static_cast<int>((c->width() - 60) * with.devicePixelRatio()),
                   static_cast<int>(18 * with.devicePixelRatio()));
  EXPECT_NE(with.pixelColor(hud), without.pixelColor(hud)) << "the ImGui heads-up display is drawn";
}

TEST_F(Inspector, HoverAndClickSelectTheTokenUnderThePointer) {
  TokenizePtr r = open();
  ASSERT_TRUE(r);
  auto* c = w->canvas();
  c->setHudVisible(false);
  const int t1 = token_with_interior(*this, *r), t2 = token_with_interior(*this, *r, t1);
  ASSERT_GE(t1, 0);
  ASSERT_GE(t2, 0);
  const QPoint p1 = interior(*r, t1), p2 = interior(*r, t2);
  QTest::mouseMove(c, widgetPos(p1));
  EXPECT_EQ(c->hoveredToken(), r->map[static_cast<std::size_t>(p1.y()) * r->width + p1.x()]);
  EXPECT_EQ(c->tokenAt(widgetPos(p2)), t2);

  QTest::mouseClick(c, Qt::LeftButton, Qt::NoModifier, widgetPos(p1));
  EXPECT_EQ(c->selection(), QSet<int>({t1}));
  QTest::mouseClick(c, Qt::LeftButton, Qt::ShiftModifier, widgetPos(p2));
  EXPECT_EQ(c->selection(), QSet<int>({t1, t2}));
  EXPECT_EQ(w->tokensPanel()->selection(), QSet<int>({t1, t2})) << "the token list follows the canvas";
  w->undoStack()->undo();
  EXPECT_EQ(c->selection(), QSet<int>({t1}));
  EXPECT_EQ(w->tokensPanel()->selection(), QSet<int>({t1}));
  w->undoStack()->redo();
  EXPECT_EQ(c->selection(), QSet<int>({t1, t2}));
  // And the other way: selecting a row in the list selects that token on the canvas.
  QTableWidget* table = w->tokensPanel()->table();
  for (int row = 0; row < table->rowCount(); ++row)
    if (table->item(row, 0)->data(Qt::DisplayRole).toInt() == t2)
      table->selectionModel()->select(table->model()->index(row, 0),
                                      QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  EXPECT_EQ(c->selection(), QSet<int>({t2}));
  EXPECT_EQ(w->undoStack()->count(), 3);
}

TEST_F(Inspector, TheTokenListSortsByAreaAndScore) {
  TokenizePtr r = open();
  QTableWidget* t = w->tokensPanel()->table();
  t->sortByColumn(setok::ui::TokensPanel::kArea, Qt::DescendingOrder);
  for (int row = 1; row < t->rowCount(); ++row)
    EXPECT_GE(t->item(row - 1, setok::ui::TokensPanel::kArea)->data(Qt::DisplayRole).toDouble(),
              t->item(row, setok::ui::TokensPanel::kArea)->data(Qt::DisplayRole).toDouble());
  t->sortByColumn(setok::ui::TokensPanel::kScore, Qt::AscendingOrder);
  for (int row = 1; row < t->rowCount(); ++row)
    EXPECT_LE(t->item(row - 1, setok::ui::TokensPanel::kScore)->data(Qt::DisplayRole).toDouble(),
              t->item(row, setok::ui::TokensPanel::kScore)->data(Qt::DisplayRole).toDouble());
}

TEST_F(Inspector, AParameterChangeRetokenizesAndViewSettingsAreRemembered) {
  TokenizePtr before = open();
  ASSERT_GT(before->tokens.size(), 2u);
  // Until the user changes one, the settings are the model's own (its config.json), and the panel
  // shows them.
  EXPECT_FALSE(w->clusterParams().has_value());
  EXPECT_EQ(w->tokensPanel()->capBox()->value(), before->params.max_tokens);
  QSignalSpy shown(w.get(), &MainWindow::tokensShown);
  w->tokensPanel()->capBox()->setValue(2);
  ASSERT_TRUE(shown.wait(30000));
  TokenizePtr after = w->currentTokens();
  EXPECT_LE(after->tokens.size(), 2u);
  EXPECT_NE(after->tokens.size(), before->tokens.size());
  EXPECT_EQ(after->params.max_tokens, 2);
  EXPECT_EQ(after->ms.encode_ms, 0.0) << "the same image is not encoded again";
  w->tokensPanel()->opacitySlider()->setValue(70);
  EXPECT_FLOAT_EQ(w->canvas()->opacity(), 0.7f);
  EXPECT_EQ(w->clusterParams().value().max_tokens, 2);
  // A new session keeps the view settings; cluster settings belong to a model and start from the
  // loaded model's own again.
  MainWindow second;
  EXPECT_FLOAT_EQ(second.canvas()->opacity(), 0.7f);
  EXPECT_FALSE(second.clusterParams().has_value());
}

TEST_F(Inspector, CleanUpStepsShowTheModelsSettingsAndRetokenizeWhenChanged) {
  TokenizePtr before = open();
  ASSERT_TRUE(before && before->ok());
  auto* panel = w->tokensPanel();
  EXPECT_EQ(panel->islandsBox()->value(), before->params.split_islands);
  EXPECT_EQ(panel->smallRegionsBox()->value(), before->params.min_region_patches);
  EXPECT_EQ(panel->edgePassesBox()->value(), before->params.edge_passes);
  QSignalSpy shown(w.get(), &MainWindow::tokensShown);
  const int passes = before->params.edge_passes == 3 ? 5 : 3;
  panel->edgePassesBox()->setValue(passes);
  ASSERT_TRUE(shown.wait(30000));
  EXPECT_EQ(w->currentTokens()->params.edge_passes, passes);
  EXPECT_EQ(w->currentTokens()->params.split_islands, before->params.split_islands) << "the others kept";
  panel->islandsBox()->setValue(0);
  panel->smallRegionsBox()->setValue(0);
  panel->edgePassesBox()->setValue(0);
  while (w->currentTokens()->params.edge_passes != 0 || w->currentTokens()->params.split_islands != 0 ||
         w->currentTokens()->params.min_region_patches != 0)
    ASSERT_TRUE(shown.wait(30000));
  EXPECT_EQ(panel->edgePassesBox()->text(), "off");
  EXPECT_EQ(w->clusterParams().value().edge_passes, 0);
}

TEST_F(Inspector, PixelEdgesRedrawTheMasksAtPixelResolution) {
  TokenizePtr before = open();
  ASSERT_TRUE(before && before->ok());
  EXPECT_FALSE(before->pixel_edges);
  QSignalSpy shown(w.get(), &MainWindow::tokensShown);
  w->tokensPanel()->pixelEdgesBox()->setChecked(true);
  ASSERT_TRUE(shown.wait(60000));
  TokenizePtr after = w->currentTokens();
  ASSERT_TRUE(after && after->ok());
  EXPECT_TRUE(after->pixel_edges);
  EXPECT_EQ(after->grid, before->grid) << "the grouping is the same; only the per-pixel map changes";
  auto* c = w->canvas();
  c->setHudVisible(false);
  const float a = c->opacity();
  QImage shot = c->grabFramebuffer();
  // Pixels that moved to another token and sit inside it (3 x 3, so no outline is drawn there):
  // the canvas shows them in their new token's colour.
  int moved = 0, checked = 0;
  const int W = after->width;
  for (int y = 1; y + 1 < after->height; ++y)
    for (int x = 1; x + 1 < W; ++x) {
      const std::size_t p = static_cast<std::size_t>(y) * W + x;
      if (after->map[p] == before->map[p]) continue;
      ++moved;
      bool inside = true;
      for (int dy = -1; dy <= 1 && inside; ++dy)
        for (int dx = -1; dx <= 1 && inside; ++dx) inside = after->map[p + dy * W + dx] == after->map[p];
      if (!inside || checked >= 20 || (x + y) % 7) continue;
      QColor img = c->image().pixelColor(x, y);
      setok::tokenizer::Rgb col = setok::tokenizer::token_colour(after->map[p]);
      QColor got = shot.pixelColor(widgetPos({x, y}) * shot.devicePixelRatio());
      EXPECT_NEAR(got.red(), img.red() * (1 - a) + col.r * a, 30) << x << "," << y;
      EXPECT_NEAR(got.green(), img.green() * (1 - a) + col.g * a, 30) << x << "," << y;
      EXPECT_NEAR(got.blue(), img.blue() * (1 - a) + col.b * a, 30) << x << "," << y;
      ++checked;
    }
  EXPECT_GT(moved, 0);
  EXPECT_GT(checked, 0);
  MainWindow second;
  EXPECT_TRUE(second.tokensPanel()->pixelEdgesBox()->isChecked()) << "the setting is remembered";
}

TEST_F(Inspector, ShowReconstructionDrawsTheDetokenizersPictureInPlaceOfTheImage) {
  // View > Show Reconstruction: the tokens come back with their reconstruction, the canvas draws
  // it (stretched over the image) instead of the image, the Tokens panel gives its PSNR, and
  // turning it off draws the image again. Scored on the canvas's own pixels, overlay off.
  TokenizePtr before = open();
  ASSERT_TRUE(before && before->ok());
  EXPECT_TRUE(before->reconstruction.empty());
  auto* c = w->canvas();
  c->setHudVisible(false);
  c->setOpacity(0.0f);
  c->setOutline(false);
  QSignalSpy shown(w.get(), &MainWindow::tokensShown);
  w->setShowingReconstruction(true);
  ASSERT_TRUE(shown.wait(60000));
  TokenizePtr after = w->currentTokens();
  ASSERT_TRUE(after && after->ok());
  ASSERT_FALSE(after->reconstruction.empty());
  EXPECT_EQ(after->grid, before->grid) << "the same tokens, now with their picture";
  EXPECT_TRUE(std::isfinite(after->reconstruction_psnr_db));
  EXPECT_TRUE(c->drawingReconstruction());
  EXPECT_TRUE(w->tokensPanel()->summary().contains(
      QString("Reconstruction: %1 dB PSNR").arg(after->reconstruction_psnr_db, 0, 'f', 1)))
      << w->tokensPanel()->summary().toStdString();
  // How far the canvas is from the reconstruction and from the image, over a grid of pixels.
  const setok::io::Image& r = after->reconstruction;
  auto distances = [&](double* to_recon, double* to_image) {
    QImage shot = c->grabFramebuffer();
    double dr = 0, di = 0;
    int n = 0;
    for (int y = 8; y < after->height - 8; y += 11)
      for (int x = 8; x < after->width - 8; x += 11) {
        const QColor got = shot.pixelColor(widgetPos({x, y}) * shot.devicePixelRatio());
        const QColor img = c->image().pixelColor(x, y);
        const int rx = x * r.width / after->width, ry = y * r.height / after->height;
        const std::uint8_t* rp = &r.rgb[(static_cast<std::size_t>(ry) * r.width + rx) * 3];
        dr += std::abs(got.red() - rp[0]) + std::abs(got.green() - rp[1]) + std::abs(got.blue() - rp[2]);
        di += std::abs(got.red() - img.red()) + std::abs(got.green() - img.green()) + std::abs(got.blue() - img.blue());
        ++n;
      }
    *to_recon = dr / (3.0 * n);
    *to_image = di / (3.0 * n);
  };
  double dr = 0, di = 0;
  distances(&dr, &di);
  EXPECT_LT(dr, 0.5 * di) << "the canvas shows the reconstruction (off by " << dr << ", the image by " << di << ")";
  w->setShowingReconstruction(false);
  EXPECT_FALSE(c->drawingReconstruction());
  distances(&dr, &di);
  EXPECT_LT(di, 0.5 * dr) << "and the image again (off by " << di << ", the reconstruction by " << dr << ")";
}

TEST_F(Inspector, ExportsRoundTrip) {
  TokenizePtr r = open();
  setok::test::TempDir d;
  QString err;
  const QString png = QString::fromStdString(d / "map.png"), json = QString::fromStdString(d / "map.json"),
                overlay = QString::fromStdString(d / "overlay.png");
  ASSERT_TRUE(w->exportIndexMap(png, &err)) << err.toStdString();
  setok::io::Image m = setok::io::load_image(png.toStdString());
  ASSERT_EQ(m.width, r->width);
  ASSERT_EQ(m.height, r->height);
  for (std::size_t i = 0; i < r->map.size(); ++i) ASSERT_EQ(m.rgb[i * 3], r->map[i]) << "pixel " << i;

  ASSERT_TRUE(w->exportCocoJson(json, &err)) << err.toStdString();
  std::ifstream f(json.toStdString());
  nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_GE(j["annotations"].size(), 1u);
  std::size_t covered = 0;
  for (const auto& a : j["annotations"]) {
    const int t = a["token"];
    std::vector<std::uint8_t> mask = setok::tokenizer::decode_rle(setok::tokenizer::rle_from_json(a["segmentation"]));
    for (std::size_t i = 0; i < mask.size(); ++i) ASSERT_EQ(mask[i] != 0, r->map[i] == t);
    covered += a["area"].get<std::size_t>();
  }
  EXPECT_EQ(covered, r->map.size());

  ASSERT_TRUE(w->exportOverlay(overlay, &err)) << err.toStdString();
  EXPECT_EQ(setok::io::load_image(overlay.toStdString()).width, r->width);
  w->copyOverlay();
  EXPECT_EQ(QApplication::clipboard()->image().size(), QSize(r->width, r->height));

  EXPECT_FALSE(w->exportIndexMap(QString::fromStdString(d / "no/such/dir/map.png"), &err));
  EXPECT_FALSE(err.isEmpty());
  EXPECT_FALSE(err.contains('\n'));
}

TEST_F(Inspector, ExportingBeforeAnyTokensSaysWhy) {
  QString err;
  EXPECT_FALSE(w->exportCocoJson("unused.json", &err));
  EXPECT_TRUE(err.contains("no tokens")) << err.toStdString();
}

TEST_F(Inspector, ComparisonShowsPatchGridAndFixedKBesideSetok) {
  TokenizePtr r = open();
  QSignalSpy compared(w.get(), &MainWindow::comparisonShown);
  w->setComparing(true);
  ASSERT_TRUE(compared.wait(30000));
  const auto* c = w->comparisonView()->result();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->tokens, static_cast<int>(r->tokens.size())) << "fixed K = the SeTok token count";
  EXPECT_EQ(c->setok_map, r->map);
  std::set<int> k(c->fixed_k_map.begin(), c->fixed_k_map.end());
  EXPECT_LE(static_cast<int>(k.size()), c->tokens);
  QImage shot = w->comparisonView()->grab().toImage();
  EXPECT_FALSE(shot.isNull());
  w->setComparing(false);
  EXPECT_FALSE(w->comparing());
}

// The engine's work runs off the GUI thread: a request is still in flight when tokenize() returns,
// and the event loop keeps turning until the last result is in. How long the longest gap is, is a
// figure for docs/benchmarks.md (`setok-studio --bench-open`), not an assertion: under Xvfb the
// software GL driver compiles a shader the first time a state is drawn (40-70 ms on this machine's
// kind), and a 2-core machine shared with another suite holds the GUI thread off the CPU for longer.
TEST_F(Inspector, TheEngineWorksOffTheGuiThread) {
  TokenizePtr r = open();
  setok::io::Image img = setok::io::load_image(sample().toStdString());
  // A bigger image too (2400×1600): decoding aside, all of it runs on the worker.
  setok::io::Image big{2400, 1600, std::vector<std::uint8_t>(2400u * 1600u * 3)};
  for (std::size_t i = 0; i < big.rgb.size(); ++i) big.rgb[i] = static_cast<std::uint8_t>(i * 31 % 251);
  // Twenty distinct images (one pixel apart), so each request is encoded: the engine caches an
  // image's features, and twenty copies of one image would be one encoding and a few milliseconds
  // of clustering, too little work for the probe to watch.
  std::vector<setok::io::Image> imgs(20, img);
  for (std::size_t i = 0; i < imgs.size(); ++i) imgs[i].rgb[0] = static_cast<std::uint8_t>(imgs[i].rgb[0] ^ (i + 1));
  const int before = w->bridge()->inFlight();
  QSignalSpy done(w->bridge(), &setok::ui::EngineBridge::tokenized);
  setok::ui::StallProbe probe;
  probe.start();
  for (std::size_t i = 0; i <= imgs.size(); ++i) {
    w->bridge()->tokenize(i < imgs.size() ? imgs[i] : big, w->clusterParams());
    ASSERT_EQ(w->bridge()->inFlight(), before + static_cast<int>(i) + 1) << "tokenize() returned after the work";
  }
  QElapsedTimer t;
  t.start();
  while (w->bridge()->inFlight() > 0 && t.elapsed() < 60000) QTest::qWait(5);
  probe.stop();
  EXPECT_EQ(w->bridge()->inFlight(), 0);
  EXPECT_EQ(done.count(), 21) << "every request answered, none superseded";
  // One encoding takes tens of milliseconds; the 5 ms timer ticks between them.
  EXPECT_GE(probe.ticks(), 2 * 21) << "the event loop turned while the engine worked";
  std::printf(
      "stall probe: worst gap %.1f ms on the wall, %.1f ms of the GUI thread's own (%.1f ms of CPU), "
      "%d ticks while 21 requests ran\n",
      probe.worstMs(), probe.worstOwnMs(), probe.worstCpuMs(), probe.ticks());
}
