#include "core/runtime/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace setok {

std::uint64_t resident_bytes() {
  unsigned long long size = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

std::uint64_t peak_resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) std::sscanf(line + 6, "%llu", &kb);
  std::fclose(f);
  return kb * 1024;
}

namespace {
std::string g_allocator_policy = "glibc defaults";
}

std::string configure_allocator() {
  for (const char* v : {"GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"})
    if (const char* e = std::getenv(v); e && *e) return g_allocator_policy = std::string("as set by ") + v;
  constexpr int kMiB = 1 << 20;
  int threshold = 1024 * kMiB;
  if (mallopt(M_MMAP_THRESHOLD, threshold) == 0) {  // glibc builds that cap it at 32 MiB
    threshold = 32 * kMiB;
    if (mallopt(M_MMAP_THRESHOLD, threshold) == 0) return g_allocator_policy;
  }
  mallopt(M_TRIM_THRESHOLD, 2 * threshold);
  return g_allocator_policy = "glibc, blocks up to " + std::to_string(threshold / kMiB) + " MiB kept in the heap";
}

std::string allocator_policy() { return g_allocator_policy; }

}  // namespace setok
