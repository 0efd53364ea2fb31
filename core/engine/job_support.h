#pragma once
// What every request's run on a worker shares: timing, errors as one-line results, cancellation at
// stage boundaries, and delivery that a throwing callback cannot turn into a dead worker. Internal
// to core/engine (its .cpp files only: it reads c10's exception type).
#include <c10/util/Exception.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "core/engine/request_status.h"
#include "core/engine/worker_lane.h"

namespace setok::engine::detail {

using Clock = std::chrono::steady_clock;
inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Cancelled {};

inline std::string first_line(std::string s) {
  if (auto n = s.find('\n'); n != std::string::npos) s.resize(n);
  return s;
}

// Runs body; what it throws becomes the result's status and one-line error.
template <class Result>
void fail(Result& r, const std::function<void()>& body) {
  try {
    body();
  } catch (const Cancelled&) {
    r.status = Status::kCancelled;
  } catch (const c10::Error& e) {
    r.status = Status::kError;
    r.error = first_line(e.what_without_backtrace());
  } catch (const std::exception& e) {
    r.status = Status::kError;
    r.error = first_line(e.what());
  } catch (...) {
    r.status = Status::kError;
    r.error = "unknown error";
  }
}

template <class Result>
void deliver(const Done<Result>& done, Result r) {
  if (!done) return;
  try {
    done(std::move(r));
  } catch (...) {
    // A throwing callback must not take the worker (and every later request) down.
  }
}

// The check between stages: throws Cancelled when the request was cancelled or its progress
// callback returned false.
inline std::function<void(float)> stage_check(WorkerLane::Job& job, const Progress& progress) {
  return [&job, progress](float f) {
    if (job.cancel.load()) throw Cancelled{};
    if (progress && !progress(f)) {
      job.cancel = true;
      throw Cancelled{};
    }
  };
}

}  // namespace setok::engine::detail
