#pragma once
// One worker thread and its queue: the engine keeps one per kind of model, so a long answer on one
// never holds up a request on another. Requests run in the order they were queued; queued requests
// of a kind submitted with `supersede` are marked superseded by a newer one of that kind; a
// cancelled request is only marked (the request itself decides where it stops). Internal to
// core/engine.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace setok::engine {

class WorkerLane {
 public:
  struct Job {
    std::uint64_t ticket = 0;
    int kind = 0;
    bool supersede = false;
    std::atomic<bool> cancel{false};      // stop at the next stage boundary
    std::atomic<bool> superseded{false};  // a newer request of its kind came before it started
    std::atomic<bool> shutdown{false};    // the engine is going: not started work need not start
    // Runs the request (or, when it should not start, only reports that); always delivers exactly
    // one result.
    std::function<void(Job&)> run;
  };

  // background_priority: the thread (and the OpenMP threads it starts) runs at nice 10, so that a
  // GUI thread on a machine with few cores gets the CPU the moment it needs it. at_exit runs on the
  // worker after its last request (models are freed on the thread that used them).
  WorkerLane(bool background_priority, std::function<void()> at_exit);
  ~WorkerLane();  // stop() and join()
  WorkerLane(const WorkerLane&) = delete;
  WorkerLane& operator=(const WorkerLane&) = delete;

  void submit(std::uint64_t ticket, int kind, bool supersede, std::function<void(Job&)> run);
  bool cancel(std::uint64_t ticket);  // whether this lane had it
  void cancel_all();
  // Marks everything cancelled and shut down; the worker still delivers what is queued, then ends.
  void stop();
  void join();
  void wait_idle();
  std::size_t pending() const;
  bool on_thread() const;

 private:
  void loop();

  bool background_priority_;
  std::function<void()> at_exit_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace setok::engine
