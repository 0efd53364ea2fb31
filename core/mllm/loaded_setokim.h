#pragma once
// One SeTokim folder loaded once: its weights, its text tokenizer and its domain profile, shared
// read-only by everything that uses the model at the same time (conversations, evaluation, the
// heads to come), as llama.cpp keeps llama_model apart from each llama_context. Per-use state (a
// conversation's images and KV cache, sampling settings) lives with the user of the model, never
// here. Torch-free header (the studio's widgets include it).
#include <memory>
#include <optional>
#include <string>

#include "core/mllm/domain_profile.h"

namespace setok::llm {
class TextTokenizer;
}

namespace setok::mllm {

class SetokimImpl;

class LoadedSetokim {
 public:
  // Loads config.json, the weights, tokenizer.model and (when there) domain.json. Throws
  // setok::Error naming what is wrong.
  static std::shared_ptr<const LoadedSetokim> load(const std::string& dir);
  ~LoadedSetokim();
  LoadedSetokim(const LoadedSetokim&) = delete;
  LoadedSetokim& operator=(const LoadedSetokim&) = delete;

  const std::string& dir() const { return dir_; }
  // The network (wrap it as mllm::Setokim(model())). Inference reads it and changes nothing in it;
  // callers run it under c10::InferenceMode, from as many threads as they like.
  std::shared_ptr<SetokimImpl> model() const { return model_; }
  const llm::TextTokenizer& tokenizer() const { return *tok_; }
  // What the model was trained on (domain.json), or null when it has none.
  const DomainProfile* domain() const { return domain_ ? &*domain_ : nullptr; }

 private:
  LoadedSetokim() = default;
  std::string dir_;
  std::shared_ptr<SetokimImpl> model_;
  std::unique_ptr<llm::TextTokenizer> tok_;
  std::optional<DomainProfile> domain_;
};

}  // namespace setok::mllm
