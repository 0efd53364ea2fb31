#pragma once
// A read-only view of a whole file through mmap, shared by the tensors that point into it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace setok::io {

class MappedFile {
 public:
  // Throws setok::Error when the file cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Pages are mapped copy-on-write: writing through a tensor never changes the file.
  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace setok::io
