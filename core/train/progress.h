#pragma once
// Training progress: JSON lines on stdout (`--progress jsonl`, what the studio and scripts read),
// or a one-line bar redrawn in place when stdout is a terminal.
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

}  // namespace setok::train
