#pragma once
// Process memory as the kernel counts it (Linux /proc), for status bars and progress lines.
#include <cstdint>
#include <string>

namespace setok {

std::uint64_t resident_bytes();       // current RSS
std::uint64_t peak_resident_bytes();  // VmHWM

// glibc's malloc serves every block above its mmap threshold (128 KiB at first, rising to at
// most 32 MiB) with a fresh mmap, and gives it back on free, so each training step's large
// activations (a broadcast decoder's [32, 256, 10, 256] floats are 84 MB) are paged in and zeroed
// again: measured, a third of a decoder-training step's CPU time was the kernel's. This keeps
// blocks up to 1 GiB in the heap and the freed heap top kept, once, at program start; not when
// the user tuned malloc already (GLIBC_TUNABLES, MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_
// set). Returns what is in force, for `setok doctor`.
std::string configure_allocator();
std::string allocator_policy();  // the last configure_allocator() result ("glibc defaults" before)

}  // namespace setok
