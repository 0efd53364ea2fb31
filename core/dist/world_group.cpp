#include "core/dist/world_group.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/runtime/error.h"

namespace setok::dist {

namespace {
std::unique_ptr<ProcessGroup>& world_slot() {
  static std::unique_ptr<ProcessGroup> g;
  return g;
}
}  // namespace

ProcessGroup* world() { return world_slot().get(); }

void join_world() {
  if (world_slot()) return;
  const RunEnvironment env = read_run_environment();
  if (!env.distributed()) return;
  long seconds = 300;
  if (const char* t = std::getenv("SETOK_DIST_TIMEOUT")) {
    char* end = nullptr;
    seconds = std::strtol(t, &end, 10);
    if (end == t || *end != '\0' || seconds < 1)
      throw Error(std::string("SETOK_DIST_TIMEOUT=") + t + ": expected seconds");
  }
  world_slot() = std::make_unique<ProcessGroup>(env, std::chrono::seconds(seconds));
}

bool is_writer() { return world_rank() == 0; }
int world_size() { return world() ? world()->size() : 1; }
int world_rank() { return world() ? world()->rank() : 0; }

StepAgreement agree_on_step(std::int64_t step, double loss, bool pause) {
  ProcessGroup* g = world();
  if (!g) return {loss, pause};
  g->mark_step(step);
  at::Tensor t = at::tensor({loss, pause ? 1.0 : 0.0}, at::kDouble);
  g->all_reduce_sum(t, "the step's loss all-reduce");
  return {t[0].item<double>() / g->size(), t[1].item<double>() > 0};
}

double share_of_items(std::int64_t local) {
  ProcessGroup* g = world();
  if (!g) return 1.0;
  at::Tensor t = at::tensor({static_cast<double>(local)}, at::kDouble);
  g->all_reduce_sum(t, "the batch's item count all-reduce");
  const double all = t.item<double>();
  return all > 0 ? g->size() * static_cast<double>(local) / all : 0.0;
}

double share_of_items(const at::Tensor& local) {
  if (!world()) return 1.0;
  return share_of_items(local.sum().item<std::int64_t>());
}

}  // namespace setok::dist
