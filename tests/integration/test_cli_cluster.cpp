// setok cluster as scripts use it.
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
