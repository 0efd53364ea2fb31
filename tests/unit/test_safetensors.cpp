// safetensors: files laid out by hand per the format's specification, round trips of every
// dtype, and every kind of malformed file answered with a precise error.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>

#include "core/io/safetensors.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using setok::test::safetensors_bytes;
using setok::test::TempDir;
using setok::test::write_bytes;

namespace {

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

// Loads bytes written to a file and returns the error text ("" when it loads).
std::string load_error(const std::string& bytes) {
  TempDir d;
  write_bytes(d / "x.safetensors", bytes);
  try {
    io::load_safetensors(d / "x.safetensors");
  } catch (const setok::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Made by hand: header {"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}, then
// sixteen bytes of four little-endian floats, exactly the specification's example layout.
TEST(Safetensors, ReadsSpecificationLayout) {
  TempDir d;
  write_bytes(d / "spec.safetensors",
              safetensors_bytes(R"({"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
                                f32_bytes({1.f, 2.f, 3.f, 4.f})));
  auto m = io::load_safetensors(d / "spec.safetensors");
  ASSERT_EQ(m.size(), 1u);
  at::Tensor t = m.at("test");
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(t.equal(at::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
}

// Made by hand: metadata, a header padded with trailing spaces (allowed by the spec), two
// tensors whose offsets are listed out of order, and a zero-element tensor.
TEST(Safetensors, ReadsMetadataPaddingAndUnorderedEntries) {
  std::string header = R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},)"
                       R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[12,12]}})";
  header.append(5, ' ');
  std::string data = f32_bytes({0.5f, -1.f});
  int32_t i = -7;
  data.append(reinterpret_cast<const char*>(&i), 4);
  TempDir d;
  write_bytes(d / "m.safetensors", safetensors_bytes(header, data));
  io::SafetensorsFile f(d / "m.safetensors");
  EXPECT_EQ(f.header().metadata.at("format"), "pt");
  EXPECT_EQ(f.tensor("b").item<int32_t>(), -7);
  EXPECT_FLOAT_EQ(f.tensor("a")[1].item<float>(), -1.f);
  EXPECT_EQ(f.tensor("e").numel(), 0);
  EXPECT_EQ(f.tensor("e").sizes().vec(), (std::vector<int64_t>{0, 3}));
}

TEST(Safetensors, RoundTripsEveryDType) {
  TempDir d;
  io::TensorMap m;
  m["f32"] = at::randn({3, 4});
  m["f64"] = at::randn({5}, at::kDouble);
  m["f16"] = at::randn({2, 3}).to(at::kHalf);
  m["bf16"] = at::randn({7}).to(at::kBFloat16);
  m["i64"] = at::arange(-5, 5, at::kLong).view({2, 5});
  m["i32"] = at::arange(0, 9, at::kInt);
  m["i16"] = at::arange(-3, 3, at::kShort);
  m["i8"] = at::arange(-3, 3, at::kChar);
  m["u8"] = at::arange(0, 255, at::kByte);
  m["bool"] = at::rand({3, 3}) > 0.5;
  m["scalar"] = at::scalar_tensor(3.5);
  m["noncontig"] = at::randn({4, 6}).t();
  io::save_safetensors(d / "all.safetensors", m, {{"producer", "test"}});
  io::SafetensorsFile f(d / "all.safetensors");
  EXPECT_EQ(f.header().metadata.at("producer"), "test");
  for (const auto& [name, t] : m) {
    at::Tensor r = f.tensor(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(r.equal(t)) << name;
  }
}

TEST(Safetensors, MapsAlignedDataWithoutCopyingAndNeverWritesTheFile) {
  TempDir d;
  io::save_safetensors(d / "z.safetensors", {{"w", at::ones({256})}, {"b", at::zeros({3}, at::kByte)}});
  std::string before = setok::test::read_bytes(d / "z.safetensors");
  io::SafetensorsFile f(d / "z.safetensors");
  at::Tensor a = f.tensor("w"), b = f.tensor("w");
  EXPECT_EQ(a.data_ptr(), b.data_ptr()) << "two reads of a mapped tensor share memory";
  a.fill_(5.f);  // copy-on-write: the process sees it, the file does not change
  EXPECT_EQ(b[0].item<float>(), 5.f);
  EXPECT_EQ(setok::test::read_bytes(d / "z.safetensors"), before);
}

TEST(Safetensors, TensorsOutliveTheFileObject) {
  TempDir d;
  io::save_safetensors(d / "o.safetensors", {{"w", at::arange(10, at::kFloat)}});
  at::Tensor t;
  { t = io::SafetensorsFile(d / "o.safetensors").tensor("w"); }
  EXPECT_FLOAT_EQ(t[9].item<float>(), 9.f);
}

TEST(Safetensors, CopiesMisalignedData) {
  // A U8 tensor of 1 byte first, then F32 at data offset 1: valid per spec, but misaligned.
  std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  TempDir d;
  write_bytes(d / "mis.safetensors", safetensors_bytes(header, std::string(1, '\x09') + f32_bytes({2.5f})));
  EXPECT_FLOAT_EQ(io::load_safetensors(d / "mis.safetensors").at("b").item<float>(), 2.5f);
}

TEST(Safetensors, SaveIsAtomicAndLeavesNoTemporaries) {
  TempDir d;
  io::save_safetensors(d / "w.safetensors", {{"x", at::ones({2})}});
  io::save_safetensors(d / "w.safetensors", {{"x", at::zeros({3})}});
  EXPECT_EQ(io::load_safetensors(d / "w.safetensors").at("x").numel(), 3);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_THROW(io::save_safetensors(d / "no/such/dir/w.safetensors", {{"x", at::ones({1})}}), setok::Error);
}

TEST(Safetensors, MalformedFilesGetPreciseErrors) {
  const std::string good = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = f32_bytes({1.f, 2.f});
  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"empty file", "", "too short"},
      {"short prefix", std::string(5, '\0'), "too short"},
      {"truncated data", safetensors_bytes(good, data.substr(0, 5)), "past the end of the data"},
      {"header length past the end", test::u64le(4096) + good, "runs past the end of the file"},
      {"huge header length", test::u64le(~0ull) + good, "100 MB"},
      {"non-JSON header", safetensors_bytes("{not json at all}", data), "not valid JSON"},
      {"header not an object", safetensors_bytes("[1,2,3]", data), "not a JSON object"},
      {"unknown dtype", safetensors_bytes(R"({"t":{"dtype":"F8_E9","shape":[2],"data_offsets":[0,8]}})", data),
       "unsupported dtype 'F8_E9'"},
      {"shape and bytes disagree", safetensors_bytes(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
       "needs 12 bytes"},
      {"out-of-range offsets", safetensors_bytes(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data),
       "past the end of the data"},
      {"offsets reversed", safetensors_bytes(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data),
       "end before they begin"},
      {"overlapping tensors",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         data),
       "overlaps"},
      {"gap", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data), "gap"},
      {"unused trailing bytes", safetensors_bytes(good, data + "xxxx"), "no tensor uses"},
      {"huge declared shape",
       safetensors_bytes(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data),
       "too large"},
      {"negative dimension", safetensors_bytes(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
       "not a non-negative integer"},
      {"missing offsets", safetensors_bytes(R"({"t":{"dtype":"F32","shape":[2]}})", data), "missing data_offsets"},
      {"metadata not strings", safetensors_bytes(R"({"__metadata__":{"n":3}})", ""), "not a string"},
  };
  for (const auto& c : cases) {
    std::string err = load_error(c.bytes);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": got '" << err << "'";
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.what << ": error must be one line";
  }
}

TEST(Safetensors, MissingTensorAndMissingFile) {
  TempDir d;
  EXPECT_THROW(io::load_safetensors(d / "absent.safetensors"), setok::Error);
  io::save_safetensors(d / "x.safetensors", {{"x", at::ones({1})}});
  EXPECT_THROW(io::SafetensorsFile(d / "x.safetensors").tensor("y"), setok::Error);
  EXPECT_THROW(io::load_safetensors(d.path().string()), setok::Error);  // a directory
}
