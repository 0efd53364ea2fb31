#pragma once
// LibTorch starts with one intra-op thread here; the program uses every core it may run on.
#include <optional>

namespace setok {

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

// Sets LibTorch's intra-op threads: `requested` if given, else $SETOK_THREADS, else the cores.
// Throws setok::Error for a value that is not a positive integer. Returns the count in force.
int configure_threads(std::optional<int> requested = std::nullopt);

}  // namespace setok
