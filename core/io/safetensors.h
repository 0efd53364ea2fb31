#pragma once
// The safetensors format (HuggingFace): u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data.
// Reading maps the file and returns tensors that point into it where the data is aligned.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/tensor_map.h"

namespace setok::io {

class MappedFile;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as written in the file: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets in the data section
  std::uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in data order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // file offset of the data section
};

// Validates everything about the layout (sizes, offsets, dtypes, JSON) and throws setok::Error
// with a one-line reason naming `what` (usually the path) when anything is off.
SafetensorsHeader parse_safetensors(const std::uint8_t* bytes, std::uint64_t size, const std::string& what);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const SafetensorsHeader& header() const { return header_; }
  bool contains(const std::string& name) const;
  // Zero-copy when the data is aligned for its dtype; a copy otherwise.
  at::Tensor tensor(const std::string& name) const;
  TensorMap all() const;

 private:
  std::shared_ptr<MappedFile> file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t> index_;
};

TensorMap load_safetensors(const std::string& path);

// Writes atomically. Tensors are stored contiguous, grouped by element size so all stay aligned.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Element size in bytes for a safetensors dtype name; 0 when unknown.
std::size_t safetensors_dtype_size(const std::string& dtype);

}  // namespace setok::io
