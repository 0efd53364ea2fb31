#include "core/mllm/writer_model.h"

#include <filesystem>

#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::mllm {

WriterModel load_writer_model(const std::string& model,
                              const std::function<std::shared_ptr<const LoadedSetokim>(const std::string&)>& loaded) {
  const std::string dir = model.empty() ? tokenizer::default_setokim_model() : model;
  if (dir.empty()) throw Error("no SeTokim model given and none bundled (use -m MODEL)");
  if (!std::filesystem::is_directory(dir)) throw Error(dir + ": no such model folder");
  if (!heads::has_diffusion_head(dir))
    throw Error(dir +
                " has no diffusion head (diffusion_head.json): it cannot edit or draw; train one with `setok "
                "train mllm` and generation or edits");
  WriterModel w;
  w.loaded = loaded ? loaded(dir) : LoadedSetokim::load(dir);
  w.head = heads::load_diffusion_head(dir);
  return w;
}

}  // namespace setok::mllm
