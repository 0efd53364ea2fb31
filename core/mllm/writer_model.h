#pragma once
// A SeTokim that writes images (generation and editing): the model and its diffusion head, loaded
// once and read by any number of requests.
#include <functional>
#include <memory>
#include <string>

#include "core/heads/diffusion_head.h"
#include "core/mllm/loaded_setokim.h"

namespace setok::mllm {

struct WriterModel {
  std::shared_ptr<const LoadedSetokim> loaded;
  heads::DiffusionHead head{nullptr};
};

// `dir` empty: the bundled SeTokim. Throws setok::Error with a one-line reason when there is no such
// folder or it has no diffusion head (checked before anything loads). `loaded`, when given, is that
// folder's SeTokim already loaded (shared, not loaded again).
WriterModel load_writer_model(
    const std::string& dir, const std::function<std::shared_ptr<const LoadedSetokim>(const std::string&)>& loaded = {});

}  // namespace setok::mllm
