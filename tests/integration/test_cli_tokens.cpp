// setok cluster, tokenize and bench as scripts use them.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/io/image.h"
#include "core/io/npy.h"
#include "tests/support/blobs.h"
#include "tests/support/run_process.h"

using namespace setok::test;

namespace {
ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args); }

void expect_one_line_error(const ProcessResult& r) {
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("setok: ", 0), 0u) << r.err;
}
}  // namespace

TEST(CliCluster, RecoversBlobsFromAnNpyFile) {
  TempDir d;
  auto blobs = make_blobs({60, 25, 40, 19}, 96, 0.05, 21);
  setok::io::save_npy(d / "f.npy", blobs.x.view({12, 12, 96}).contiguous());  // [h, w, d]
  auto r = setok_cli("cluster " + shell_quote(d / "f.npy") + " -o " + shell_quote(d / "m.npy"));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"], 4);
  EXPECT_EQ(j["patches"], 144);
  at::Tensor m = setok::io::load_npy(d / "m.npy");
  EXPECT_EQ(m.sizes().vec(), (std::vector<int64_t>{144, 4}));
  EXPECT_TRUE(recovers_exactly(m, blobs.labels, 4));
  std::vector<int64_t> sizes = j["sizes"];
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int64_t>{19, 25, 40, 60}));

  auto soft = setok_cli("cluster " + shell_quote(d / "f.npy") + " -o " + shell_quote(d / "s.npy") +
                        " --mode soft --max-tokens 3 --knn 4 --beta 0.5 --bandwidth 0.1");
  ASSERT_EQ(soft.rc, 0) << soft.err;
  EXPECT_EQ(nlohmann::json::parse(soft.out)["tokens"], 3);
  at::Tensor s = setok::io::load_npy(d / "s.npy");
  EXPECT_TRUE(at::allclose(s.sum(1), at::ones({144}), 1e-5, 1e-5));
}

TEST(CliCluster, BadInputIsOneLineAndExitOne) {
  TempDir d;
  setok::io::save_npy(d / "int.npy", at::ones({4, 3}, at::kLong));
  setok::io::save_npy(d / "flat.npy", at::ones({7}));
  at::Tensor nan = at::ones({4, 3});
  nan[1][1] = std::numeric_limits<float>::quiet_NaN();
  setok::io::save_npy(d / "nan.npy", nan);
  write_bytes(d / "junk.npy", "garbage");
  for (const char* f : {"int.npy", "flat.npy", "nan.npy", "junk.npy", "absent.npy"}) {
    SCOPED_TRACE(f);
    expect_one_line_error(setok_cli("cluster " + shell_quote(d / f) + " -o " + shell_quote(d / "o.npy")));
  }
  auto usage = setok_cli("cluster " + shell_quote(d / "int.npy") + " -o x.npy --mode medium");
  EXPECT_EQ(usage.rc, 2);
}

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

TEST(CliBench, ClusterPrintsFigures) {
  auto r = setok_cli("bench cluster --n 100 --dim 64 --batch 2 --repeats 3 --warmup 1 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"ms_per_image", "reference_ms_per_image", "dpc_knn_ms_per_image", "gram_ms_per_image"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  EXPECT_GE(j["tokens_per_image"].get<double>(), 1.0);
}
