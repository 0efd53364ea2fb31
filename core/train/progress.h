#pragma once
// Training progress: JSON lines on stdout (`--progress jsonl`, what the studio and scripts read),
// or a one-line bar redrawn in place when stdout is a terminal.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace setok::train {

enum class ProgressMode { kJsonl, kBar, kNone };

// "jsonl", "bar", "none", or "" (auto: bar on a terminal, JSON lines otherwise).
ProgressMode parse_progress_mode(const std::string& s);

class ProgressWriter {
 public:
  using Sink = std::function<void(const nlohmann::json&)>;
  explicit ProgressWriter(ProgressMode mode, Sink sink = {}) : mode_(mode), sink_(std::move(sink)) {}
  // One event: {"event": "step" | "eval" | "checkpoint" | "done" | "error", ...}.
  void emit(const nlohmann::json& event);

 private:
  ProgressMode mode_;
  Sink sink_;  // also receives every event (tests, in-process callers)
  bool bar_open_ = false;
};

// A trainer's check after a step: a value (`what`: "loss" or "gradient") that is NaN or Inf emits an
// error event and throws setok::Error naming the step and the last good checkpoint.
void stop_if_not_finite(double value, const char* what, std::int64_t step, const std::string& checkpoint_dir,
                        ProgressWriter& progress);

}  // namespace setok::train
