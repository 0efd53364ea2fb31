// Fashion-MNIST's IDX files: read, and every malformed file named with its fault.
#include <gtest/gtest.h>

#include <string>

#include "core/data/fashion_mnist.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok::data;

TEST(FashionMnist, MalformedFilesNameTheFault) {
  setok::test::TempDir d;
  const std::string hdr("\0\0\x08\x03\0\0\0\x01\0\0\0\x1c\0\0\0\x1c", 16);
  setok::test::write_bytes(d / "im", hdr + std::string(784, '\x7f'));
  setok::test::write_bytes(d / "lb", std::string("\0\0\x08\x01\0\0\0\x01\x03", 9));
  FashionMnist f = read_fashion_mnist(d / "im", d / "lb");
  EXPECT_EQ(f.count(), 1);
  EXPECT_EQ(f.labels[0], 3);
  setok::test::write_bytes(d / "short", hdr + std::string(700, '\0'));
  try {
    read_fashion_mnist(d / "short", d / "lb");
    FAIL();
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("short: truncated"), std::string::npos) << e.what();
  }
  setok::test::write_bytes(d / "bad", std::string(20, '\x01'));
  EXPECT_THROW(read_fashion_mnist(d / "bad", d / "lb"), setok::Error);
  setok::test::write_bytes(d / "gz", std::string("\x1f\x8b\x08\0\0\0", 6));
  EXPECT_THROW(read_fashion_mnist(d / "gz", d / "lb"), setok::Error);
}
