#include "core/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/io/mapped_file.h"
#include "core/runtime/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace setok::io {
namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // the format's own limit (100 MB)

struct DTypeRow {
  const char* name;
  at::ScalarType type;
  std::size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},   {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const DTypeRow* find_dtype(const std::string& name) {
  for (const auto& r : kDTypes)
    if (name == r.name) return &r;
  return nullptr;
}
const DTypeRow* find_dtype(at::ScalarType t) {
  for (const auto& r : kDTypes)
    if (t == r.type) return &r;
  return nullptr;
}

}  // namespace

std::size_t safetensors_dtype_size(const std::string& dtype) {
  const DTypeRow* r = find_dtype(dtype);
  return r ? r->size : 0;
}

SafetensorsHeader parse_safetensors(const std::uint8_t* bytes, std::uint64_t size, const std::string& what) {
  auto fail = [&](const std::string& why) -> Error { return Error(what + ": " + why); };
  if (size < 8) throw fail("truncated: " + std::to_string(size) + " bytes, too short for a safetensors header");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxHeader) throw fail("header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8)
    throw fail("truncated: header length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(size) + " bytes)");
  if (n < 2 || bytes[8] != '{') throw fail("header is not a JSON object");
  nlohmann::json j = nlohmann::json::parse(bytes + 8, bytes + 8 + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw fail("header is not valid JSON");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const std::uint64_t data_size = size - h.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw fail("__metadata__ value for '" + m.key() + "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto tfail = [&](const std::string& why) { return fail("tensor '" + key + "': " + why); };
    if (!v.is_object()) throw tfail("entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw tfail("missing dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) throw tfail("missing shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw tfail("missing data_offsets [begin, end]");
    SafetensorsEntry e;
    e.name = key;
    e.dtype = v["dtype"].get<std::string>();
    const DTypeRow* dt = find_dtype(e.dtype);
    if (!dt) throw tfail("unsupported dtype '" + e.dtype + "'");
    std::uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw tfail("shape holds a value that is not a non-negative integer");
      std::uint64_t dim = d.get<std::uint64_t>();
      if (dim > (std::uint64_t{1} << 62) || __builtin_mul_overflow(numel, dim, &numel))
        throw tfail("declared shape is too large");
      e.shape.push_back(static_cast<std::int64_t>(dim));
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) throw tfail("data_offsets are not non-negative integers");
    e.begin = v["data_offsets"][0].get<std::uint64_t>();
    e.end = v["data_offsets"][1].get<std::uint64_t>();
    if (e.end < e.begin) throw tfail("data_offsets end before they begin");
    if (e.end > data_size)
      throw tfail("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  ") run past the end of the data (" + std::to_string(data_size) + " bytes): file truncated?");
    std::uint64_t expect = 0;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dt->size), &expect))
      throw tfail("declared shape is too large");
    if (expect != e.nbytes())
      throw tfail("shape needs " + std::to_string(expect) + " bytes of " + e.dtype + " but data_offsets hold " +
                  std::to_string(e.nbytes()));
    h.entries.push_back(std::move(e));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t pos = 0;
  for (const auto& e : h.entries) {
    if (e.begin < pos) throw fail("tensor '" + e.name + "' overlaps the tensor before it");
    if (e.begin > pos) throw fail("data section has a gap before tensor '" + e.name + "'");
    pos = e.end;
  }
  if (pos != data_size)
    throw fail("data section has " + std::to_string(data_size - pos) + " bytes that no tensor uses");
  return h;
}

SafetensorsFile::SafetensorsFile(const std::string& path) {
  file_ = MappedFile::open(path);
  header_ = parse_safetensors(file_->data(), file_->size(), path);
  for (std::size_t i = 0; i < header_.entries.size(); ++i) index_[header_.entries[i].name] = i;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(file_->path() + ": no tensor named '" + name + "'");
  const SafetensorsEntry& e = header_.entries[it->second];
  const DTypeRow* dt = find_dtype(e.dtype);
  auto opts = at::TensorOptions().dtype(dt->type);
  std::uint8_t* p = file_->data() + header_.data_start + e.begin;
  if (e.nbytes() == 0) return at::empty(e.shape, opts);
  if (reinterpret_cast<std::uintptr_t>(p) % dt->size != 0) {
    at::Tensor t = at::empty(e.shape, opts);
    std::memcpy(t.data_ptr(), p, e.nbytes());
    return t;
  }
  std::shared_ptr<MappedFile> keep = file_;
  return at::from_blob(
      p, e.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

TensorMap SafetensorsFile::all() const {
  TensorMap m;
  for (const auto& e : header_.entries) m[e.name] = tensor(e.name);
  return m;
}

TensorMap load_safetensors(const std::string& path) { return SafetensorsFile(path).all(); }

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  struct Item {
    const std::string* name;
    at::Tensor t;
    const DTypeRow* dt;
  };
  std::vector<Item> items;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw Error(path + ": tensor '" + name + "' is undefined");
    const DTypeRow* dt = find_dtype(t.scalar_type());
    if (!dt) throw Error(path + ": tensor '" + name + "' has a dtype safetensors cannot store");
    items.push_back({&name, t.detach().to(at::kCPU).contiguous(), dt});
  }
  // Wider elements first keeps every tensor aligned to its element size.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.dt->size > b.dt->size; });
  nlohmann::json j = nlohmann::json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  std::uint64_t off = 0;
  for (const auto& it : items) {
    std::uint64_t nb = static_cast<std::uint64_t>(it.t.numel()) * it.dt->size;
    j[*it.name] = {{"dtype", it.dt->name}, {"shape", it.t.sizes().vec()}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  std::string header = j.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  std::uint64_t n = header.size();
  AtomicFile f(path);
  f.write(&n, 8);
  f.write(header.data(), header.size());
  for (const auto& it : items)
    if (it.t.numel() > 0) f.write(it.t.data_ptr(), static_cast<std::size_t>(it.t.numel()) * it.dt->size);
  f.commit();
}

}  // namespace setok::io
