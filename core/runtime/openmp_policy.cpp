#include "core/runtime/openmp_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace setok {

void ensure_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("SETOK_NO_REEXEC")) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on with the policy libgomp already has.
}

}  // namespace setok
