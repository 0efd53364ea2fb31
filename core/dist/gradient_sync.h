#pragma once
// Data parallelism's gradient exchange, as DDP's Reducer does it: the trained parameters are laid
// out in buckets of about 25 MB (the first 1 MB, so that the exchange starts early), last
// parameters first (the order backward produces their
// gradients); a hook on each parameter copies its gradient into its bucket as backward makes it,
// and a full bucket is all-reduced at once, while backward goes on — in bucket order, since every
// rank must start the same collectives in the same order (a rank that skipped a parameter fills its
// bucket later than the others). finish() starts the buckets
// still open, waits for all, and puts the mean over the ranks back into each parameter's .grad. A
// parameter no rank gave a gradient keeps none (so the optimiser skips it, as it would in one
// process); one that some ranks did not use counts as zero there.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/dist/process_group.h"

namespace torch::optim {
class Optimizer;
}

namespace setok::dist {

class GradientSync {
 public:
  // `params`: the parameters the optimiser steps (requires_grad), on one device.
  GradientSync(ProcessGroup& group, std::vector<at::Tensor> params, std::int64_t bucket_bytes = 25 << 20,
               std::int64_t first_bucket_bytes = 1 << 20);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before backward: the hooks collect this step's gradients.
  void begin();
  // After backward: every .grad is the mean over the ranks.
  void finish();
  std::size_t buckets() const { return buckets_.size(); }
  // Seconds finish() has waited for the all-reduces, over the run: what the exchange costs beyond
  // what backward hid.
  double wait_seconds() const { return wait_s_; }

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // indices into params_
    std::vector<std::int64_t> offset;  // each member's start in `flat`
    std::int64_t numel = 0;            // the members' numbers: `flat` holds them, then one flag each
    at::Tensor flat;                   // the gradients, then one "had a gradient" flag per member
    std::size_t ready = 0;
    std::shared_ptr<ProcessGroup::Pending> pending;
  };
  void on_gradient(std::size_t param, const at::Tensor& grad);
  void launch_ready();
  ProcessGroup& group_;
  std::vector<at::Tensor> params_;
  std::vector<std::size_t> bucket_of_, member_of_;  // each parameter's bucket and place in it
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::size_t next_ = 0;  // the first bucket not started yet
  bool armed_ = false;
  double wait_s_ = 0;
};

// A trainer's data parallelism: in a run of several ranks (world_group.h), rank 0's values of the
// optimiser's parameters broadcast to every rank, and their gradients' exchange; null for one process.
std::unique_ptr<GradientSync> data_parallel(torch::optim::Optimizer& optimiser);

}  // namespace setok::dist
