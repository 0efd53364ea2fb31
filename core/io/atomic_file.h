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

// A folder replaced as a whole: begin_folder_swap(dir) returns an empty DIR.tmp beside it to fill;
// commit_folder_swap(dir) moves DIR aside, moves DIR.tmp in and deletes the old one, so a crash
// at any point leaves a complete DIR, DIR.old or DIR.tmp (checkpoints).
std::string begin_folder_swap(const std::string& dir);
void commit_folder_swap(const std::string& dir);

// Removes a file or a folder with everything in it (symbolic links are removed, not followed);
// a missing path is fine. Throws setok::Error naming what could not be removed. The project's
// own walk (nftw) rather than std::filesystem::remove_all: the CUDA LibTorch of the PyTorch
// 2.11 wheel exports a broken copy of remove_all(path, error_code&) that crashes whoever links it.
void remove_tree(const std::string& path);

}  // namespace setok::io
