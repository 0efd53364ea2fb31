// The allocator policy: large blocks stay in the heap unless the user tuned malloc.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/runtime/error.h"
#include "core/runtime/memory.h"

namespace {
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}
// Faults of allocating, filling and freeing a 64 MiB block.
long faults_of_a_large_block() {
  volatile std::size_t size = 64u << 20;
  const long before = minor_faults();
  char* p = static_cast<char*>(std::malloc(size));
  std::memset(p, 1, size);
  volatile char keep = p[size / 2];
  (void)keep;
  std::free(p);
  return minor_faults() - before;
}
}  // namespace

TEST(Allocator, LargeBlocksStayInTheHeapUnlessTheUserTunedMalloc) {
  ::setenv("MALLOC_MMAP_THRESHOLD_", "131072", 1);
  EXPECT_EQ(setok::configure_allocator(), "as set by MALLOC_MMAP_THRESHOLD_");
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && *tunables) GTEST_SKIP() << "GLIBC_TUNABLES is set for this run";
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's (SETOK_SANITIZE builds)";
#endif
  const std::string policy = setok::configure_allocator();
  EXPECT_NE(policy.find("kept in the heap"), std::string::npos) << policy;
  EXPECT_EQ(setok::allocator_policy(), policy);
  faults_of_a_large_block();  // pages the block in once
  // 64 MiB is 16384 pages: a block served by mmap faults on every one of them each time.
  EXPECT_LT(faults_of_a_large_block(), 1000) << "a freed 64 MiB block was given back to the kernel";
}
