// The process group of a build whose LibTorch has no c10d Gloo headers (cmake/SetokDeps.cmake): it
// trains on one process, and a run started with WORLD_SIZE > 1 is refused when it would join.
#include "core/dist/process_group.h"

#include "core/runtime/error.h"

namespace setok::dist {

struct ProcessGroup::Impl {};
class ProcessGroup::Pending {};

namespace {
[[noreturn]] void unavailable() {
  throw Error(
      "this setok was built without c10d's Gloo (its LibTorch has no gloo headers): it trains on one process "
      "only");
}
}  // namespace

ProcessGroup::ProcessGroup(const RunEnvironment& env, std::chrono::milliseconds timeout)
    : env_(env), timeout_(timeout) {
  unavailable();
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::broadcast(std::vector<at::Tensor>) { unavailable(); }
void ProcessGroup::all_reduce_sum(at::Tensor&, const char*) { unavailable(); }
std::shared_ptr<ProcessGroup::Pending> ProcessGroup::all_reduce_sum_async(at::Tensor&) { unavailable(); }
void ProcessGroup::wait(Pending&, const char*) { unavailable(); }
void ProcessGroup::mark_step(std::int64_t) { unavailable(); }
void ProcessGroup::fail(const char*, const std::exception&) { unavailable(); }
std::string ProcessGroup::missing_ranks() { unavailable(); }
void ProcessGroup::beat() { unavailable(); }

}  // namespace setok::dist
