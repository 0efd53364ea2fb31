#pragma once
// A fresh folder per test, removed afterwards, plus byte-level file helpers.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/io/atomic_file.h"

namespace setok::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "setok-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    try {
      io::remove_tree(path_.string());
    } catch (...) {  // a destructor must not throw; a leftover temp folder is harmless
    }
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The 8-byte little-endian length prefix of a safetensors file.
inline std::string u64le(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file laid out by hand as the format's specification describes it.
inline std::string safetensors_bytes(const std::string& header_json, const std::string& data) {
  return u64le(header_json.size()) + header_json + data;
}

}  // namespace setok::test
