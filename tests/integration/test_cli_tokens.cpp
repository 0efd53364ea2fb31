// setok tokenize as scripts use it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/io/image.h"
#include "core/io/npy.h"
#include "tests/support/blobs.h"
#include "tests/support/run_process.h"
#include "tests/support/setok_cli.h"
#include "tests/support/temp_dir.h"

using namespace setok::test;

TEST(CliTokenize, WritesOverlayIndexMapAndStatistics) {
  TempDir d;
  std::string img = std::string(SETOK_SAMPLES) + "/chelsea.png";
  auto r = setok_cli("tokenize " + shell_quote(img) + " --json --overlay " + shell_quote(d / "o.png") + " --masks " +
                     shell_quote(d / "m.png"));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const int tokens = j["tokens"];
  EXPECT_GE(tokens, 1);
  EXPECT_LE(tokens, j["params"]["max_tokens"].get<int>());
  EXPECT_EQ(j["token_list"].size(), static_cast<size_t>(tokens));
  EXPECT_TRUE(j.contains("trained"));
  int64_t area = 0;
  for (const auto& t : j["token_list"]) {
    area += t["area"].get<int64_t>();
    EXPECT_EQ(t["colour"].get<std::string>().size(), 7u);
    EXPECT_EQ(t["bbox"].size(), 4u);
  }
  EXPECT_EQ(area, 451 * 300) << "every pixel belongs to exactly one token";
  auto overlay = setok::io::load_image(d / "o.png");
  EXPECT_EQ(overlay.width, 451);
  EXPECT_EQ(overlay.height, 300);
  cv::Mat m = cv::imread(d / "m.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(m.type(), CV_8UC1);
  EXPECT_EQ(m.cols, 451);
  double lo, hi;
  cv::minMaxLoc(m, &lo, &hi);
  EXPECT_LT(hi, tokens);
  auto capped = setok_cli("tokenize " + shell_quote(img) + " --json --max-tokens 3");
  ASSERT_EQ(capped.rc, 0) << capped.err;
  EXPECT_LE(nlohmann::json::parse(capped.out)["tokens"].get<int>(), 3);
}

TEST(CliTokenize, WritesTheReconstructionAndItsPsnr) {
  TempDir d;
  std::string img = std::string(SETOK_SAMPLES) + "/chelsea.png";
  auto r = setok_cli("tokenize " + shell_quote(img) + " --json --reconstruction " + shell_quote(d / "r.png"));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("reconstruction"));
  const double psnr = j["reconstruction"]["psnr_db"];
  EXPECT_TRUE(std::isfinite(psnr));
  EXPECT_GT(psnr, 0.0);
  EXPECT_TRUE(j["ms"].contains("reconstruct"));
  // At the model's input size, whatever the image's.
  auto rec = setok::io::load_image(d / "r.png");
  EXPECT_EQ(rec.width, 128);
  EXPECT_EQ(rec.height, 128);
  auto text = setok_cli("tokenize " + shell_quote(img) + " --reconstruction " + shell_quote(d / "s.png"));
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("reconstruction: "), std::string::npos) << text.out;
  expect_one_line_error(
      setok_cli("tokenize " + shell_quote(img) + " --reconstruction " + shell_quote(d / "no/such/dir/r.png")));
}

// The token set stands alone: `setok detokenize` draws from the file what tokenize drew from the
// image (up to the file's f16), and refuses what is not a token set.
TEST(CliTokenize, TokenSetFileDrawsTheReconstructionWithoutTheImage) {
  TempDir d;
  std::string img = std::string(SETOK_SAMPLES) + "/chelsea.png";
  auto r = setok_cli("tokenize " + shell_quote(img) + " --json --reconstruction " + shell_quote(d / "r.png") +
                     " --tokens " + shell_quote(d / "t.safetensors"));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("token_set"));
  EXPECT_EQ(j["token_set"]["count"], j["tokens"]);
  const int per_token = j["token_set"]["numbers_per_token"]["vector"].get<int>() +
                        j["token_set"]["numbers_per_token"]["descriptor"].get<int>();
  EXPECT_EQ(j["token_set"]["bytes_per_token_f16"], 2 * per_token);
  auto drawn =
      setok_cli("detokenize " + shell_quote(d / "t.safetensors") + " -o " + shell_quote(d / "d.png") + " --json");
  ASSERT_EQ(drawn.rc, 0) << drawn.err;
  EXPECT_EQ(nlohmann::json::parse(drawn.out)["numbers_per_token"], per_token);
  cv::Mat a = cv::imread(d / "r.png"), b = cv::imread(d / "d.png");
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  EXPECT_LT(cv::mean(diff)[0], 2.0) << "the file's f16 tokens draw another picture";
  expect_one_line_error(setok_cli("detokenize " + shell_quote(img) + " -o " + shell_quote(d / "x.png")));
  expect_one_line_error(
      setok_cli("detokenize " + shell_quote(d / "none.safetensors") + " -o " + shell_quote(d / "x.png")));
  EXPECT_FALSE(std::filesystem::exists(d / "x.png"));
}

TEST(CliTokenize, PixelEdgesMoveOnlyBoundaryPixels) {
  TempDir d;
  std::string img = std::string(SETOK_SAMPLES) + "/chelsea.png";
  auto patch = setok_cli("tokenize " + shell_quote(img) + " --json --masks " + shell_quote(d / "p.png"));
  auto pixel = setok_cli("tokenize " + shell_quote(img) + " --json --pixel-edges --masks " + shell_quote(d / "q.png"));
  ASSERT_EQ(patch.rc, 0) << patch.err;
  ASSERT_EQ(pixel.rc, 0) << pixel.err;
  auto jp = nlohmann::json::parse(patch.out), jq = nlohmann::json::parse(pixel.out);
  EXPECT_EQ(jp["edges"], "patch");
  EXPECT_EQ(jq["edges"], "pixel");
  EXPECT_EQ(jp["tokens"], jq["tokens"]) << "the grouping itself is the same";
  int64_t area = 0;
  for (const auto& t : jq["token_list"]) area += t["area"].get<int64_t>();
  EXPECT_EQ(area, 451 * 300);
  cv::Mat p = cv::imread(d / "p.png", cv::IMREAD_UNCHANGED), q = cv::imread(d / "q.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(p.size(), q.size());
  const int moved = cv::countNonZero(p != q);
  EXPECT_GT(moved, 0) << "a photo has token boundaries that do not follow the patch grid";
  EXPECT_LT(moved, 451 * 300 / 2) << "only pixels near a boundary move";
}

TEST(CliTokenize, AcceptsEveryKindOfImageAndRefusesNonImages) {
  TempDir d;
  cv::Mat grey(50, 80, CV_8UC1, cv::Scalar(90)), deep(40, 40, CV_16UC1, cv::Scalar(40000)),
      alpha(30, 70, CV_8UC4, cv::Scalar(10, 200, 30, 128)), tiny(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)),
      tall(300, 7, CV_8UC3, cv::Scalar(200, 100, 0));
  cv::imwrite(d / "grey.png", grey);
  cv::imwrite(d / "deep.png", deep);
  cv::imwrite(d / "alpha.png", alpha);
  cv::imwrite(d / "tiny.png", tiny);
  cv::imwrite(d / "tall.jpg", tall);
  cv::imwrite(d / "grey.tiff", grey);
  for (const char* f : {"grey.png", "deep.png", "alpha.png", "tiny.png", "tall.jpg", "grey.tiff"}) {
    SCOPED_TRACE(f);
    auto r = setok_cli("tokenize --json " + shell_quote(d / f) + " --masks " + shell_quote(d / "m.png"));
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_GE(nlohmann::json::parse(r.out)["tokens"].get<int>(), 1);
  }
  write_bytes(d / "fake.png", "\x89PNG\r\n\x1a\n not really");
  write_bytes(d / "empty.jpg", "");
  for (const char* f : {"fake.png", "empty.jpg", "absent.png"}) {
    SCOPED_TRACE(f);
    expect_one_line_error(setok_cli("tokenize " + shell_quote(d / f)));
  }
  expect_one_line_error(
      setok_cli("tokenize " + std::string(SETOK_SAMPLES) + "/coffee.png -m " + shell_quote(d.path().string())));
  // A valid PNG header declaring 100000 x 100000 pixels (tests/data): refused before any allocation.
  auto huge = setok_cli("tokenize " + std::string(SETOK_TEST_DATA) + "/huge_100000x100000.png");
  expect_one_line_error(huge);
  EXPECT_NE(huge.err.find("too large"), std::string::npos) << huge.err;
}
