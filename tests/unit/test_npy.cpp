// .npy: files written by NumPy itself (tests/data/npy, made by make_fixtures.py there), round
// trips, live interop with NumPy when it is installed, and malformed files.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>

#include "core/io/npy.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using setok::test::TempDir;
using setok::test::write_bytes;

namespace {
std::string fixture(const std::string& name) { return std::string(SETOK_TEST_DATA) + "/npy/" + name; }

std::string load_error(const std::string& bytes) {
  TempDir d;
  write_bytes(d / "x.npy", bytes);
  try {
    io::load_npy(d / "x.npy");
  } catch (const setok::Error& e) {
    return e.what();
  }
  return "";
}

std::string npy_v1(const std::string& dict, const std::string& data) {
  std::string h = dict;
  std::size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}
}  // namespace

TEST(Npy, ReadsFilesWrittenByNumpy) {
  at::Tensor f32 = io::load_npy(fixture("f32_2x3.npy"));
  EXPECT_EQ(f32.scalar_type(), at::kFloat);
  EXPECT_TRUE(f32.equal(at::arange(6, at::kFloat).view({2, 3}) * 0.5));

  at::Tensor f64 = io::load_npy(fixture("f64_4.npy"));
  EXPECT_TRUE(f64.equal(at::tensor({1.0, -2.5, 3.25, 1e-300}, at::kDouble)));

  at::Tensor i64 = io::load_npy(fixture("i64_3x1x2.npy"));
  EXPECT_TRUE(i64.equal((at::arange(6, at::kLong) - 3).view({3, 1, 2}) * static_cast<int64_t>(1000000000000)));

  at::Tensor u8 = io::load_npy(fixture("u8_2x2x3.npy"));
  EXPECT_EQ(u8.scalar_type(), at::kByte);
  EXPECT_TRUE(u8.equal((at::arange(12, at::kByte) * 20).view({2, 2, 3})));

  at::Tensor fortran = io::load_npy(fixture("f32_fortran_2x3.npy"));
  EXPECT_TRUE(fortran.equal(at::arange(6, at::kFloat).view({2, 3}))) << "Fortran order comes back in C order";

  at::Tensor scalar = io::load_npy(fixture("f32_scalar.npy"));
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_FLOAT_EQ(scalar.item<float>(), 7.5f);

  EXPECT_EQ(io::load_npy(fixture("f32_empty_0x4.npy")).sizes().vec(), (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(io::load_npy(fixture("f32_v2_3.npy")).equal(at::tensor({1.f, 2.f, 3.f})));
}

TEST(Npy, WritesWhatNumpyWrites) {
  // Same array, same bytes: our writer's header matches NumPy's byte for byte.
  TempDir d;
  io::save_npy(d / "f32.npy", at::arange(6, at::kFloat).view({2, 3}) * 0.5);
  EXPECT_EQ(test::read_bytes(d / "f32.npy"), test::read_bytes(fixture("f32_2x3.npy")));
  io::save_npy(d / "s.npy", at::scalar_tensor(7.5, at::kFloat));
  EXPECT_EQ(test::read_bytes(d / "s.npy"), test::read_bytes(fixture("f32_scalar.npy")));
}

TEST(Npy, RoundTrips) {
  TempDir d;
  for (at::Tensor t : {at::randn({3, 5}), at::randn({2, 2, 2}, at::kDouble), at::arange(7, at::kLong),
                       at::randint(0, 255, {4, 4}, at::kByte), at::randn({0, 3}), at::randn({5, 4}).t()}) {
    io::save_npy(d / "r.npy", t);
    at::Tensor r = io::load_npy(d / "r.npy");
    EXPECT_EQ(r.scalar_type(), t.scalar_type());
    EXPECT_TRUE(r.equal(t));
  }
  EXPECT_THROW(io::save_npy(d / "h.npy", at::ones({2}, at::kHalf)), setok::Error);
}

// NumPy reads what we write, and we read what it writes, on freshly made files.
TEST(Npy, InteropWithLiveNumpy) {
#ifndef SETOK_NUMPY_PYTHON
  GTEST_SKIP() << "no Python with NumPy found at configure time";
#else
  if (std::system(SETOK_NUMPY_PYTHON " -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "NumPy not importable";
  TempDir d;
  io::save_npy(d / "ours.npy", at::arange(12, at::kDouble).view({3, 4}) / 8);
  std::string script = std::string(SETOK_NUMPY_PYTHON) + " -c \"import numpy as np, sys; a=np.load('" +
                       (d / "ours.npy") +
                       "'); ok = a.shape==(3,4) and a.dtype==np.float64 and (a==np.arange(12).reshape(3,4)/8).all(); "
                       "np.save('" +
                       (d / "theirs.npy") +
                       "', (np.arange(10, dtype=np.int64)**3).reshape(2,5)); "
                       "sys.exit(0 if ok else 1)\"";
  ASSERT_EQ(std::system(script.c_str()), 0) << "NumPy rejected or misread our file";
  at::Tensor t = io::load_npy(d / "theirs.npy");
  EXPECT_TRUE(t.equal(at::arange(10, at::kLong).pow(3).view({2, 5})));
#endif
}

TEST(Npy, MalformedFilesGetPreciseErrors) {
  std::string data(8, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"empty", "", "bad magic"},
      {"not npy", "PK\x03\x04 zip file here", "bad magic"},
      {"header past end", std::string("\x93NUMPY\x01\x00\xff\x7f{", 11), "past the end"},
      {"bad version", std::string("\x93NUMPY\x07\x00\x10\x00", 10) + std::string(16, ' '), "version 7"},
      {"unsupported dtype", npy_v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data),
       "unsupported .npy dtype '<c8'"},
      {"big-endian", npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data), "unsupported"},
      {"truncated data", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data), "truncated"},
      {"trailing bytes", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data), "bytes follow"},
      {"huge shape", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (288230376151711744, 64), }", data),
       "too large"},
      {"negative dim", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data), "non-negative"},
      {"missing key", npy_v1("{'descr': '<f4', 'shape': (2,), }", data), "lacks"},
      {"garbage dict", npy_v1("hello", data), "malformed"},
      {"unterminated", npy_v1("{'descr': '<f4", data), "malformed"},
  };
  for (const auto& c : cases) {
    std::string err = load_error(c.bytes);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": got '" << err << "'";
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.what;
  }
}
