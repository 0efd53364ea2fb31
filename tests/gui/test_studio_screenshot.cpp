// The setok-studio binary renders its window with --screenshot: the picture is the window's
// size and not blank, and bad input exits 1 with one line.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/io/image.h"
#include "tests/support/run_process.h"

using namespace setok::test;

// The picture is the size asked for, on a first run (no saved settings) as on any other, at the
// least size the layout tests check (StudioLayout).
TEST(StudioScreenshot, RendersTheWindowWithTheImage) {
  TempDir d;
  auto r = run_command(shell_quote(SETOK_STUDIO) + " " + shell_quote(std::string(SETOK_SAMPLES) + "/coffee.png") +
                       " --size 937x654 --screenshot " + shell_quote(d / "shot.png"));
  ASSERT_EQ(r.rc, 0) << r.err;
  setok::io::Image img = setok::io::load_image(d / "shot.png");
  EXPECT_EQ(img.width, 937);
  EXPECT_EQ(img.height, 654);
  // Not blank: the pixels vary a lot (a uniform or nearly uniform window would not).
  double sum = 0, sq = 0;
  for (auto v : img.rgb) sum += v, sq += double(v) * v;
  double n = img.rgb.size(), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_GT(sd, 20.0) << "screenshot looks blank";
}

TEST(StudioScreenshot, BadImageExitsOneWithOneLine) {
  TempDir d;
  write_bytes(d / "bad.jpg", "not an image");
  auto r = run_command(shell_quote(SETOK_STUDIO) + " " + shell_quote(d / "bad.jpg") + " --screenshot " +
                       shell_quote(d / "shot.png"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.jpg"), std::string::npos) << r.err;
}

// Help needs no display: it answers where no window could open (--version takes the same path).
TEST(StudioScreenshot, HelpNeedsNoDisplay) {
  auto r = run_command("env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM= " + shell_quote(SETOK_STUDIO) + " --help");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("--screenshot"), std::string::npos) << r.out;
}
