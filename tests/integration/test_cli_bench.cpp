// setok bench as scripts use it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

TEST(CliBench, ClusterPrintsFigures) {
  auto r = setok_cli("bench cluster --n 100 --dim 64 --batch 2 --repeats 3 --warmup 1 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"ms_per_image", "reference_ms_per_image", "dpc_knn_ms_per_image", "gram_ms_per_image"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  EXPECT_GE(j["tokens_per_image"].get<double>(), 1.0);
}

// The Segment tool's figures (docs/benchmarks.md) come from one run over the bundled SeTokim: every
// figure printed, the first click being the encoding plus a click.
TEST(CliBench, SegmentPrintsEveryFigure) {
  const std::string image = std::string(SETOK_SAMPLES) + "/coffee.png";
  auto r = setok_cli("bench segment " + shell_quote(image) + " --expression 'the cup' --repeats 2 --warmup 0 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* k :
       {"encode_ms", "hover_ms", "click_ms", "click_whole_image_ms", "expression_ms", "first_click_ms", "peak_rss_mib"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  EXPECT_GT(j["first_click_ms"].get<double>(), j["encode_ms"].get<double>());
  EXPECT_EQ(j["width"], 600);
}
