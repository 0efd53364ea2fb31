// DPC-kNN, the fixed-count clustering baseline: exactly k clusters, well-separated blobs recovered.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "core/runtime/error.h"
#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/token_cleanup.h"
#include "core/tokenizer/token_cluster.h"
#include "tests/support/blobs.h"
#include "tests/support/cluster_params.h"

using namespace setok::tokenizer;
using setok::test::make_blobs;
using setok::test::params;
using setok::test::recovers_exactly;

TEST(DpcKnn, FixedCountBaselineSplitsBlobsIntoExactlyKClusters) {
  auto blobs = setok::test::make_blobs({40, 25, 35}, 64, 0.05, 12);
  at::Tensor assign = dpc_knn(blobs.x.unsqueeze(0), 3)[0];
  EXPECT_TRUE(recovers_exactly(at::one_hot(assign, 3), blobs.labels, 3));
  // Asked for more clusters than there are blobs, it still returns exactly that many.
  at::Tensor six = dpc_knn(blobs.x.unsqueeze(0), 6)[0];
  EXPECT_EQ(std::get<0>(at::_unique(six)).numel(), 6);
}
