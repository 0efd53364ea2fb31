// The scenes world's Debian ingredients: Fashion-MNIST and the background photos. Needs Debian's
// dataset-fashion-mnist, opencv-doc and the unpacked python3-skimage photos
// (packaging/install-deps.sh): without them this test fails.
#include <gtest/gtest.h>

#include <set>

#include "core/data/assets.h"
#include "core/data/fashion_mnist.h"
#include "core/runtime/error.h"

using namespace setok::data;

TEST(Assets, DebianIngredientsArePresent) {
  // CI installs them: their absence is a failure, not a skip.
  EXPECT_NO_THROW(fashion_mnist_dir());
  EXPECT_GE(background_photos().size(), 15u);
  const FashionMnist& fm = fashion_mnist(true);
  EXPECT_EQ(fm.count(), 60000);
  EXPECT_EQ(fashion_mnist(false).count(), 10000);
  std::set<int> labels(fm.labels.begin(), fm.labels.end());
  EXPECT_EQ(labels.size(), 10u);
}
