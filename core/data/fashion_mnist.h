#pragma once
// Fashion-MNIST's IDX files (gzipped, as Debian ships them): 28x28 grey items with labels 0..9
// (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
#include <cstdint>
#include <string>
#include <vector>

namespace setok::data {

struct FashionMnist {
  static constexpr int kSide = 28;
  std::vector<std::uint8_t> pixels;  // count * 28 * 28, row-major, 0 = background
  std::vector<std::uint8_t> labels;  // count
  int count() const { return static_cast<int>(labels.size()); }
  const std::uint8_t* item(int i) const { return pixels.data() + static_cast<std::size_t>(i) * kSide * kSide; }
};

// Reads an IDX image file and its label file (gzipped or not). Throws setok::Error naming the
// file and the fault (bad magic, wrong dimensions, truncated, counts differ).
FashionMnist read_fashion_mnist(const std::string& images_path, const std::string& labels_path);

// Debian's copy, read once per process: the 60000 training items (train = true) or the 10000 test
// items. Train/val scenes draw from the former, test/compositional scenes from the latter.
const FashionMnist& fashion_mnist(bool train);

// The whole file, gunzipped if it starts with gzip's magic.
std::string read_maybe_gzipped(const std::string& path);

}  // namespace setok::data
