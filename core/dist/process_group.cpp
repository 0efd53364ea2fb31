#include "core/dist/process_group.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "core/runtime/error.h"

namespace setok::dist {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::thread heart;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
};

class ProcessGroup::Pending {
 public:
  c10::intrusive_ptr<c10d::Work> work;
};

namespace {

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

ProcessGroup::ProcessGroup(const RunEnvironment& env, std::chrono::milliseconds timeout)
    : env_(env), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = env.world_size;
  so.waitWorkers = true;
  so.timeout = timeout;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                ": could not meet the other ranks at " + where + ": " + first_line(e.what()));
  }
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
  try {
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + ": could not start Gloo with the other ranks at " + where + ": " +
                first_line(e.what()));
  }
  impl_->heart = std::thread([this] { beat(); });
}

ProcessGroup::~ProcessGroup() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->heart.joinable()) impl_->heart.join();
}

void ProcessGroup::beat() {
  const std::string key = "setok/alive/" + std::to_string(env_.rank);
  std::unique_lock<std::mutex> lock(impl_->mu);
  while (!impl_->stop) {
    try {
      impl_->store->add(key, 1);
    } catch (const std::exception&) {
      return;  // the store is gone: the next collective says so
    }
    impl_->cv.wait_for(lock, std::chrono::milliseconds(500));
  }
}

void ProcessGroup::mark_step(std::int64_t step) {
  step_ = step;
  try {
    const std::string v = std::to_string(step);
    impl_->store->set("setok/step/" + std::to_string(env_.rank), std::vector<std::uint8_t>(v.begin(), v.end()));
  } catch (const std::exception& e) {
    fail("marking its step", e);
  }
}

// The other ranks that died (their heartbeat stopped over 1.5 s) or had not reached this rank's step.
std::string ProcessGroup::missing_ranks() {
  std::string out;
  try {  // the store answers while rank 0 serves it
    impl_->store->setTimeout(std::chrono::milliseconds(2000));
    std::vector<std::int64_t> before(static_cast<std::size_t>(env_.world_size));
    for (int r = 0; r < env_.world_size; ++r) before[r] = impl_->store->add("setok/alive/" + std::to_string(r), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (int r = 0; r < env_.world_size; ++r) {
      if (r == env_.rank) continue;
      const std::string step_key = "setok/step/" + std::to_string(r);
      std::int64_t at = -1;
      if (impl_->store->check({step_key})) {
        const std::vector<std::uint8_t> v = impl_->store->get(step_key);
        at = std::stoll(std::string(v.begin(), v.end()));
      }
      const bool dead = impl_->store->add("setok/alive/" + std::to_string(r), 0) == before[r];
      if (!dead && at >= step_) continue;
      out += (out.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r) +
             (dead ? " (not responding" : " (alive") +
             (at < 0 ? ", no step done)" : ", at step " + std::to_string(at) + ")");
    }
  } catch (const std::exception&) {
    out = "rank 0 (gone: its store at " + env_.master_addr + ":" + std::to_string(env_.master_port) + " is gone)";
  }
  return out;
}

void ProcessGroup::fail(const char* what, const std::exception& e) {
  const std::string missing = missing_ranks();
  throw Error("rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size) + ": " + what +
              " failed at step " + std::to_string(step_) + (missing.empty() ? "" : "; missing: " + missing) + " (" +
              first_line(e.what()) + ")");
}

void ProcessGroup::broadcast(std::vector<at::Tensor> tensors) {
  try {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      impl_->group->broadcast(one)->wait(timeout_);
    }
  } catch (const std::exception& e) {
    fail("broadcast", e);
  }
}

void ProcessGroup::all_reduce_sum(at::Tensor& t, const char* what) {
  try {
    std::vector<at::Tensor> one{t};
    impl_->group->allreduce(one)->wait(timeout_);
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

std::shared_ptr<ProcessGroup::Pending> ProcessGroup::all_reduce_sum_async(at::Tensor& t) {
  auto p = std::make_shared<Pending>();
  try {
    std::vector<at::Tensor> one{t};
    p->work = impl_->group->allreduce(one);
  } catch (const std::exception& e) {
    fail("gradient all-reduce", e);
  }
  return p;
}

void ProcessGroup::wait(Pending& p, const char* what) {
  try {
    p.work->wait(timeout_);
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

}  // namespace setok::dist
