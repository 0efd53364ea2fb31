// Atomic file operations: removing a tree without following links, and swapping a folder in whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;

TEST(AtomicFile, RemoveTreeDeletesNestedFoldersButNeverFollowsLinks) {
  test::TempDir dir;
  namespace fs = std::filesystem;
  const fs::path keep = dir.path() / "keep", tree = dir.path() / "tree";
  fs::create_directories(keep);
  test::write_bytes((keep / "precious").string(), "x");
  fs::create_directories(tree / "a" / "b");
  test::write_bytes((tree / "a" / "b" / "f").string(), "y");
  test::write_bytes((tree / "g").string(), "z");
  fs::create_directory_symlink(keep, tree / "link");
  io::remove_tree(tree.string());
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(keep / "precious"));       // the link went, not what it points to
  EXPECT_NO_THROW(io::remove_tree(tree.string()));  // already gone: fine
  io::remove_tree((keep / "precious").string());    // a plain file
  EXPECT_FALSE(fs::exists(keep / "precious"));
  // Swapping a folder in replaces the old one whole.
  const std::string model = (dir.path() / "model").string();
  for (const char* v : {"one", "two"}) {
    const std::string tmp = io::begin_folder_swap(model);
    test::write_bytes(tmp + "/" + v, v);
    io::commit_folder_swap(model);
  }
  EXPECT_TRUE(fs::exists(model + "/two"));
  EXPECT_FALSE(fs::exists(model + "/one"));
  EXPECT_FALSE(fs::exists(model + ".old"));
}
