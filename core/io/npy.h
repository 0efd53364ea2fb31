#pragma once
// NumPy's .npy format (versions 1.0–3.0): float32, float64, int64, int32, uint8 and bool arrays,
// little-endian. Fortran-ordered arrays are read and returned in C order.
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/tensor_map.h"

namespace setok::io {

struct NpyHeader {
  std::string descr;  // e.g. "<f4"
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::uint64_t data_offset = 0;
  std::size_t item_size = 0;
};

// Validates the header and that the file holds exactly the data it declares.
NpyHeader parse_npy(const std::uint8_t* bytes, std::uint64_t size, const std::string& what);
NpyHeader read_npy_header(const std::string& path);

at::Tensor load_npy(const std::string& path);
// Writes format 1.0 (2.0 when the header needs it), atomically.
void save_npy(const std::string& path, const at::Tensor& t);

}  // namespace setok::io
