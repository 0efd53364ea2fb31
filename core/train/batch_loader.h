#pragma once
// SeTok training's batches: a SeTok dataset (core/data/setok_data.h) read on a background thread
// in an order fixed by the seed and the step.
#include <ATen/core/Tensor.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/data/setok_data.h"

namespace setok::train {

struct SetokBatch {
  std::int64_t step = 0;
  at::Tensor pixels;                 // [B, 3, S, S]
  std::vector<SetokSample> samples;  // for the per-image object masks and labels
};

// Prepares batches on a background thread, in an order fixed by (seed, step): epoch e visits the
// dataset in a permutation drawn from (seed, e). Starting at any step gives the same batches a
// run from step 0 would have reached there, so resumed training sees the same data. In a run of
// `world` ranks, step n's batch of batch_size × world images is the one a single process at that
// batch size would read, and rank r takes its r-th share of batch_size.
class BatchLoader {
 public:
  BatchLoader(const SetokDataset& data, int batch_size, std::uint64_t seed, std::int64_t first_step, int prefetch = 4,
              int rank = 0, int world = 1);
  ~BatchLoader();
  SetokBatch next();
  double wait_seconds() const { return wait_s_; }  // time next() spent waiting for data

 private:
  void run();
  std::vector<std::size_t> indices_for(std::int64_t step);
  const SetokDataset& data_;
  int batch_size_, prefetch_, rank_, world_;
  std::uint64_t seed_;
  std::int64_t next_step_;
  std::int64_t cached_epoch_ = -1;
  std::vector<std::size_t> perm_;
  std::deque<SetokBatch> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::string error_;
  double wait_s_ = 0;
  std::thread worker_;
};

}  // namespace setok::train
