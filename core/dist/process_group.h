#pragma once
// The processes of a data-parallel training run, joined through PyTorch's own c10d: rank 0 serves a
// TCPStore at MASTER_ADDR:MASTER_PORT, every rank meets there, and the collectives run on
// ProcessGroupGloo (CPU tensors). Nothing here is our own transport. A collective that fails — a
// rank that died (its sockets close) or hangs (past the timeout) — throws setok::Error naming the
// ranks that stopped responding (each rank beats a counter in the store twice a second; a dead or
// frozen one stops) or did not reach the step this one is at (each rank marks its step there too).
#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dist/run_environment.h"

namespace setok::dist {

class ProcessGroup {
 public:
  // Joins the run; blocks until every rank has come (or throws after `timeout`).
  ProcessGroup(const RunEnvironment& env, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  const RunEnvironment& environment() const { return env_; }

  // Rank 0's tensors into everyone's, in place.
  void broadcast(std::vector<at::Tensor> tensors);
  // The sum over the ranks, in place. `what` names the collective in an error.
  void all_reduce_sum(at::Tensor& t, const char* what = "all-reduce");
  // Started now, finished by wait(): what gradient buckets use while backward runs.
  class Pending;
  std::shared_ptr<Pending> all_reduce_sum_async(at::Tensor& t);
  void wait(Pending& p, const char* what = "gradient all-reduce");
  // This rank has reached `step`: a failure names the ranks that had not.
  void mark_step(std::int64_t step);

 private:
  [[noreturn]] void fail(const char* what, const std::exception& e);
  std::string missing_ranks();
  void beat();
  RunEnvironment env_;
  std::chrono::milliseconds timeout_;
  std::int64_t step_ = -1;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace setok::dist
