#include "core/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/runtime/error.h"

namespace setok::train {

ProgressMode parse_progress_mode(const std::string& s) {
  if (s == "jsonl") return ProgressMode::kJsonl;
  if (s == "bar") return ProgressMode::kBar;
  if (s == "none") return ProgressMode::kNone;
  if (s.empty()) return ::isatty(STDOUT_FILENO) ? ProgressMode::kBar : ProgressMode::kJsonl;
  throw Error("--progress must be jsonl, bar or none");
}

void ProgressWriter::emit(const nlohmann::json& e) {
  if (sink_) sink_(e);
  if (mode_ == ProgressMode::kNone) return;
  if (mode_ == ProgressMode::kJsonl) {
    std::string line = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stdout, "%s\n", line.c_str());
    std::fflush(stdout);
    return;
  }
  const std::string ev = e.value("event", "");
  if (ev == "step") {
    const double total = e.value("total_steps", 0.0), step = e.value("step", 0.0);
    const int width = 30, filled = total > 0 ? static_cast<int>(width * step / total) : 0;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stdout, "\r[%s] %6.0f/%-6.0f loss %.4f  %.1f img/s  ETA %.0fs   ", bar.c_str(), step, total,
                 e.value("loss", 0.0), e.value("images_per_s", 0.0), e.value("eta_s", 0.0));
    bar_open_ = true;
  } else {
    if (bar_open_) std::fputc('\n', stdout);
    bar_open_ = false;
    std::fprintf(stdout, "%s\n", e.dump().c_str());
  }
  std::fflush(stdout);
}

void stop_if_not_finite(double value, const char* what, std::int64_t step, const std::string& checkpoint_dir,
                        ProgressWriter& progress) {
  if (std::isfinite(value)) return;
  const std::string w = what;
  progress.emit({{"event", "error"}, {"step", step}, {"message", w + " is not finite"}});
  throw Error("training stopped at step " + std::to_string(step) + ": " + (w == "loss" ? "the " : "a ") + w +
              " is not finite (NaN/Inf); the last good checkpoint is in " + checkpoint_dir);
}

}  // namespace setok::train
