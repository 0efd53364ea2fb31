#include "core/engine/worker_lane.h"

#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace setok::engine {

WorkerLane::WorkerLane(bool background_priority, std::function<void()> at_exit)
    : background_priority_(background_priority), at_exit_(std::move(at_exit)) {
  worker_ = std::thread([this] { loop(); });
}

WorkerLane::~WorkerLane() {
  stop();
  join();
}

void WorkerLane::loop() {
#if defined(__linux__)
  // A lower priority for this thread and the OpenMP threads it starts (they inherit it): on a
  // machine with few cores the GUI thread must still get the CPU the moment it needs it.
  if (background_priority_) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
  // Grad mode and inference mode are thread-local: set here, where the model code runs.
  c10::InferenceMode inference;
  c10::NoGradGuard no_grad;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything delivered
      job = queue_.front();
      queue_.pop_front();
      running_ = job;
    }
    job->run(*job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.reset();
    }
    idle_cv_.notify_all();
  }
  if (at_exit_) at_exit_();
}

void WorkerLane::submit(std::uint64_t ticket, int kind, bool supersede, std::function<void(Job&)> run) {
  auto job = std::make_shared<Job>();
  job->ticket = ticket;
  job->kind = kind;
  job->supersede = supersede;
  job->run = std::move(run);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (supersede)
      for (auto& q : queue_)
        if (q->kind == kind && q->supersede) q->superseded = true;
    queue_.push_back(job);
  }
  cv_.notify_one();
}

bool WorkerLane::cancel(std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  bool found = false;
  if (running_ && running_->ticket == ticket) running_->cancel = found = true;
  for (auto& q : queue_)
    if (q->ticket == ticket) q->cancel = found = true;
  return found;
}

void WorkerLane::cancel_all() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) running_->cancel = true;
  for (auto& q : queue_) q->cancel = true;
}

void WorkerLane::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& q : queue_) q->cancel = q->shutdown = true;
    if (running_) running_->cancel = running_->shutdown = true;
  }
  cv_.notify_all();
}

void WorkerLane::join() {
  if (worker_.joinable()) worker_.join();
}

void WorkerLane::wait_idle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !running_; });
}

std::size_t WorkerLane::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + (running_ ? 1 : 0);
}

bool WorkerLane::on_thread() const { return std::this_thread::get_id() == worker_.get_id(); }

}  // namespace setok::engine
