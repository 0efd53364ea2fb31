#include "core/train/batch_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "core/runtime/error.h"

namespace setok::train {

BatchLoader::BatchLoader(const SetokDataset& data, int batch_size, std::uint64_t seed, std::int64_t first_step,
                         int prefetch, int rank, int world)
    : data_(data),
      batch_size_(batch_size),
      prefetch_(prefetch),
      rank_(rank),
      world_(world),
      seed_(seed),
      next_step_(first_step) {
  if (data.size() == 0) throw Error("the training data is empty");
  if (batch_size < 1) throw Error("batch size must be at least 1");
  if (world < 1 || rank < 0 || rank >= world) throw Error("batch loader: rank must be below the world size");
  worker_ = std::thread([this] { run(); });
}

BatchLoader::~BatchLoader() {
  stop_ = true;
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::vector<std::size_t> BatchLoader::indices_for(std::int64_t step) {
  const std::size_t n = data_.size();
  std::vector<std::size_t> out;
  for (int i = 0; i < batch_size_; ++i) {
    const std::uint64_t pos =
        (static_cast<std::uint64_t>(step) * world_ + static_cast<std::uint64_t>(rank_)) * batch_size_ + i;
    const std::int64_t epoch = static_cast<std::int64_t>(pos / n);
    if (epoch != cached_epoch_) {
      perm_.resize(n);
      std::iota(perm_.begin(), perm_.end(), 0);
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch));
      std::shuffle(perm_.begin(), perm_.end(), rng);
      cached_epoch_ = epoch;
    }
    out.push_back(perm_[pos % n]);
  }
  return out;
}

void BatchLoader::run() {
  at::init_num_threads();
  while (!stop_) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || static_cast<int>(queue_.size()) < prefetch_; });
      if (stop_) return;
    }
    SetokBatch b;
    try {
      b.step = next_step_;
      std::vector<at::Tensor> px;
      for (std::size_t i : indices_for(next_step_)) {
        b.samples.push_back(data_.get(i));
        px.push_back(b.samples.back().pixels);
      }
      b.pixels = at::stack(px);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = e.what();
      cv_.notify_all();
      return;
    }
    ++next_step_;
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(b));
    cv_.notify_all();
  }
}

SetokBatch BatchLoader::next() {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty() || !error_.empty(); });
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (queue_.empty()) throw Error("data loading failed: " + error_);
  SetokBatch b = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  return b;
}

}  // namespace setok::train
