#pragma once
// The process-wide group a data-parallel trainer syncs through, as torch.distributed's default group,
// and what every rank must agree on at each step. One process (no WORLD_SIZE, or 1): no group, and
// every function here does what a single process would.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/dist/process_group.h"

namespace setok::dist {

// The process-wide group a trainer syncs through, as torch.distributed's default group: null when
// the run is one process. join_world() reads the launch contract (run_environment.h) and joins when
// WORLD_SIZE > 1; the timeout comes from SETOK_DIST_TIMEOUT (seconds; default 300).
ProcessGroup* world();
void join_world();
// Rank 0, or one process: the rank that writes checkpoints, progress and the model.
bool is_writer();
// The run's ranks and this one's (1 and 0 for one process).
int world_size();
int world_rank();

// What every rank must agree on after a step's forward pass: the loss, as its mean over the ranks
// (a NaN on one rank stops them all), and whether to pause (any rank was asked). The step is
// marked first (ProcessGroup::mark_step). One process: as given.
struct StepAgreement {
  double loss = 0;
  bool pause = false;
};
StepAgreement agree_on_step(std::int64_t step, double loss, bool pause);

// A loss averaged over this rank's `local` items (target tokens) times this share is the rank's
// part of the mean over every rank's items, so that the ranks' mean gradient is the one a single
// process with all the items would take: world size × local / the sum of local over the ranks.
// One process: 1.
double share_of_items(std::int64_t local);
// The same for a count held in a tensor (a number, or a mask to sum): read only when several ranks
// run, so one process adds no synchronisation.
double share_of_items(const at::Tensor& local);

}  // namespace setok::dist
