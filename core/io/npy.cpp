#include "core/io/npy.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/io/atomic_file.h"
#include "core/io/mapped_file.h"
#include "core/runtime/error.h"

namespace setok::io {
namespace {

struct NpyType {
  const char* descr;
  at::ScalarType type;
  std::size_t size;
};
constexpr NpyType kTypes[] = {
    {"<f4", at::kFloat, 4}, {"<f8", at::kDouble, 8}, {"<i8", at::kLong, 8},
    {"<i4", at::kInt, 4},   {"|u1", at::kByte, 1},   {"|b1", at::kBool, 1},
};

// A small reader for the Python dict literal numpy writes: {'descr': '<f4', 'fortran_order':
// False, 'shape': (3, 4), }
class DictParser {
 public:
  DictParser(const std::string& s, const std::string& what) : s_(s), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') break;
      std::string key = str();
      expect(':');
      if (key == "descr") {
        h.descr = str();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        throw bad("unknown header key '" + key + "'");
      }
      skip();
      if (peek() == ',') ++i_;
    }
    if (!have_descr || !have_order || !have_shape) throw bad("header lacks descr, fortran_order or shape");
    return h;
  }

 private:
  Error bad(const std::string& why) const { return Error(what_ + ": malformed .npy header: " + why); }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  char peek() {
    skip();
    if (i_ >= s_.size()) throw bad("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) throw bad(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string str() {
    char q = peek();
    if (q != '\'' && q != '"') throw bad("expected a string");
    std::size_t j = s_.find(q, i_ + 1);
    if (j == std::string::npos) throw bad("unterminated string");
    std::string out = s_.substr(i_ + 1, j - i_ - 1);
    i_ = j + 1;
    return out;
  }
  bool boolean() {
    skip();
    if (s_.compare(i_, 4, "True") == 0) return i_ += 4, true;
    if (s_.compare(i_, 5, "False") == 0) return i_ += 5, false;
    throw bad("fortran_order is not True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (peek() != ')') {
      std::size_t start = i_;
      std::uint64_t v = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (v > (std::uint64_t{1} << 58)) throw bad("dimension too large");
        v = v * 10 + static_cast<std::uint64_t>(s_[i_++] - '0');
      }
      if (i_ == start) throw bad("shape holds something that is not a non-negative integer");
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
      dims.push_back(static_cast<std::int64_t>(v));
      if (peek() == ',') ++i_;
    }
    ++i_;
    return dims;
  }

  const std::string& s_;
  const std::string& what_;
  std::size_t i_ = 0;
};

const NpyType* find_type(const std::string& d) {
  for (const auto& t : kTypes)
    if (d == t.descr) return &t;
  // numpy writes '<u1' on some versions and '|i1'-style for one-byte types; accept the equivalents.
  if (d == "<u1" || d == ">u1") return find_type("|u1");
  if (d == "<b1" || d == ">b1") return find_type("|b1");
  return nullptr;
}

}  // namespace

NpyHeader parse_npy(const std::uint8_t* bytes, std::uint64_t size, const std::string& what) {
  static const char kMagic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(bytes, kMagic, 6) != 0) throw Error(what + ": not a .npy file (bad magic)");
  const unsigned major = bytes[6];
  std::uint64_t hlen = 0, pre = 0;
  if (major == 1) {
    hlen = static_cast<std::uint64_t>(bytes[8]) | (static_cast<std::uint64_t>(bytes[9]) << 8);
    pre = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(what + ": truncated .npy header");
    std::uint32_t h32 = 0;
    std::memcpy(&h32, bytes + 8, 4);
    hlen = h32;
    pre = 12;
  } else {
    throw Error(what + ": unsupported .npy format version " + std::to_string(major));
  }
  if (hlen > size - pre) throw Error(what + ": truncated: .npy header runs past the end of the file");
  std::string text(reinterpret_cast<const char*>(bytes + pre), hlen);
  NpyHeader h = DictParser(text, what).parse();
  const NpyType* t = find_type(h.descr);
  if (!t)
    throw Error(what + ": unsupported .npy dtype '" + h.descr + "' (float32, float64, int64, int32, uint8, bool)");
  h.descr = t->descr;
  h.item_size = t->size;
  h.data_offset = pre + hlen;
  std::uint64_t n = t->size;
  for (auto d : h.shape)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
      throw Error(what + ": declared shape is too large");
  const std::uint64_t have = size - h.data_offset;
  if (have < n)
    throw Error(what + ": truncated: shape needs " + std::to_string(n) + " data bytes, file holds " +
                std::to_string(have));
  if (have > n) throw Error(what + ": " + std::to_string(have - n) + " bytes follow the data the header declares");
  return h;
}

NpyHeader read_npy_header(const std::string& path) {
  auto f = MappedFile::open(path);
  return parse_npy(f->data(), f->size(), path);
}

at::Tensor load_npy(const std::string& path) {
  auto f = MappedFile::open(path);
  NpyHeader h = parse_npy(f->data(), f->size(), path);
  const NpyType* t = find_type(h.descr);
  std::vector<std::int64_t> shape = h.shape;
  if (h.fortran_order) std::reverse(shape.begin(), shape.end());
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(t->type));
  if (out.numel() > 0) std::memcpy(out.data_ptr(), f->data() + h.data_offset, out.nbytes());
  if (h.fortran_order && shape.size() > 1) {
    std::vector<std::int64_t> perm(shape.size());
    std::iota(perm.rbegin(), perm.rend(), 0);
    out = out.permute(perm).contiguous();
  }
  return out;
}

void save_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  const NpyType* type = nullptr;
  for (const auto& k : kTypes)
    if (k.type == t.scalar_type()) type = &k;
  if (!type) throw Error(path + ": .npy output supports float32, float64, int64, int32, uint8 and bool tensors");
  std::string shape = "(";
  for (auto d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() > 1) shape.resize(shape.size() - 2);
  else if (t.dim() == 1) shape.resize(shape.size() - 1);  // numpy writes (5,)
  shape += ")";
  std::string dict = std::string("{'descr': '") + type->descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // numpy pads the header with spaces so the data starts 64-byte aligned, ending in '\n'.
  std::size_t pre = 10;
  std::size_t total = pre + dict.size() + 1;
  bool v2 = false;
  std::size_t padded = (total + 63) / 64 * 64;
  if (padded - pre > 0xffff) {
    v2 = true;
    pre = 12;
    total = pre + dict.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string head = "\x93NUMPY";
  head += static_cast<char>(v2 ? 2 : 1);
  head += '\0';
  std::uint64_t hlen = dict.size();
  for (int b = 0; b < (v2 ? 4 : 2); ++b) head += static_cast<char>((hlen >> (8 * b)) & 0xff);
  AtomicFile f(path);
  f.write(head.data(), head.size());
  f.write(dict.data(), dict.size());
  if (t.numel() > 0) f.write(t.data_ptr(), t.nbytes());
  f.commit();
}

}  // namespace setok::io
