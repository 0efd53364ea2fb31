#pragma once
// Atomic file replacement: write to a temporary file beside the target, fsync it, rename it over
// the target, fsync the directory. Readers see either the old file or the new one, never half.
#include <cstddef>
#include <string>

namespace setok::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // discards the temporary unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// Convenience: the whole file at once.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace setok::io
