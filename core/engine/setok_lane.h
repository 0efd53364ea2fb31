#pragma once
// The SeTok model's lane: the model (loaded on first use), the last image's patch features, and the
// tokenize and compare requests that share them. Re-clustering the same image with new parameters
// skips the encoder, which is what makes live parameter drags fast. Worker-thread only; internal to
// core/engine.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/engine/engine.h"
#include "core/engine/worker_lane.h"

namespace setok::engine {

class SetokLane {
 public:
  SetokLane(std::string model_dir, float overlay_opacity);
  ~SetokLane();
  SetokLane(const SetokLane&) = delete;
  SetokLane& operator=(const SetokLane&) = delete;

  void tokenize(WorkerLane::Job& job, TokenizeRequest& req, const Done<TokenizeResult>& done, const Progress& progress);
  void compare(WorkerLane::Job& job, ClusterCompareRequest& req, const Done<ClusterCompareResult>& done,
               const Progress& progress);
  // Later requests load the model in `dir` (empty: the bundled one); the current one goes now.
  void use_model(std::string dir);
  void release();  // frees the model and the cached features (at the worker's end)

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace setok::engine
