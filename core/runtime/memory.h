#pragma once
// Process memory as the kernel counts it (Linux /proc), for status bars and progress lines.
#include <cstdint>

namespace setok {

std::uint64_t resident_bytes();       // current RSS
std::uint64_t peak_resident_bytes();  // VmHWM

}  // namespace setok
