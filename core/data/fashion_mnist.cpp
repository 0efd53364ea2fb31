#include "core/data/fashion_mnist.h"

#ifdef SETOK_HAVE_ZLIB
#include <zlib.h>
#endif

#include <fstream>
#include <mutex>

#include "core/data/assets.h"
#include "core/runtime/error.h"

namespace setok::data {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

std::string read_maybe_gzipped(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string raw((std::istreambuf_iterator<char>(in)), {});
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;
#ifndef SETOK_HAVE_ZLIB
  throw Error(path + ": gzipped, and this build has no zlib (install zlib1g-dev and rebuild)");
#else
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw Error(path + ": zlib initialisation failed");
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw Error(path + ": corrupt gzip data (" + (z.msg ? z.msg : "truncated") + ")");
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw Error(path + ": truncated gzip data");
    }
  }
  inflateEnd(&z);
  return out;
#endif
}

FashionMnist read_fashion_mnist(const std::string& images_path, const std::string& labels_path) {
  std::string im = read_maybe_gzipped(images_path);
  std::string lb = read_maybe_gzipped(labels_path);
  // IDX: magic 0x00000803 (ubyte, 3 dims) then big-endian dims; labels 0x00000801.
  if (im.size() < 16 || be32(im, 0) != 0x803) throw Error(images_path + ": not an IDX image file (bad magic)");
  if (lb.size() < 8 || be32(lb, 0) != 0x801) throw Error(labels_path + ": not an IDX label file (bad magic)");
  const std::uint32_t n = be32(im, 4), rows = be32(im, 8), cols = be32(im, 12);
  if (rows != FashionMnist::kSide || cols != FashionMnist::kSide)
    throw Error(images_path + ": items are " + std::to_string(rows) + "x" + std::to_string(cols) + ", expected 28x28");
  if (im.size() != 16 + std::size_t{n} * rows * cols) throw Error(images_path + ": truncated or oversized image data");
  const std::uint32_t nl = be32(lb, 4);
  if (nl != n) throw Error(labels_path + ": " + std::to_string(nl) + " labels for " + std::to_string(n) + " images");
  if (lb.size() != 8 + std::size_t{n}) throw Error(labels_path + ": truncated or oversized label data");
  FashionMnist f;
  f.pixels.assign(im.begin() + 16, im.end());
  f.labels.assign(lb.begin() + 8, lb.end());
  for (std::uint8_t l : f.labels)
    if (l > 9) throw Error(labels_path + ": label " + std::to_string(l) + " outside 0..9");
  return f;
}

const FashionMnist& fashion_mnist(bool train) {
  static std::mutex m;
  static FashionMnist sets[2];
  static bool loaded[2] = {false, false};
  std::lock_guard<std::mutex> lock(m);
  const int k = train ? 0 : 1;
  if (!loaded[k]) {
    const std::string dir = fashion_mnist_dir();
    const std::string stem = train ? "/train" : "/t10k";
    sets[k] = read_fashion_mnist(dir + stem + "-images-idx3-ubyte.gz", dir + stem + "-labels-idx1-ubyte.gz");
    loaded[k] = true;
  }
  return sets[k];
}

}  // namespace setok::data
