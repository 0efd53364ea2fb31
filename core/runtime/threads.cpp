#include "core/runtime/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "core/runtime/error.h"

namespace setok {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int configure_threads(std::optional<int> requested) {
  int n = 0;
  if (requested) {
    n = *requested;
    if (n < 1) throw Error("--threads must be a positive integer");
  } else if (const char* env = std::getenv("SETOK_THREADS"); env && *env) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (*end != '\0' || v < 1 || v > 4096)
      throw Error(std::string("SETOK_THREADS='") + env + "' is not a positive integer");
    n = static_cast<int>(v);
  } else {
    n = available_cores();
  }
  at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace setok
