#include "core/mllm/loaded_setokim.h"

#include "core/llm/text_tokenizer.h"
#include "core/mllm/setokim.h"

namespace setok::mllm {

std::shared_ptr<const LoadedSetokim> LoadedSetokim::load(const std::string& dir) {
  std::shared_ptr<LoadedSetokim> l(new LoadedSetokim());
  l->dir_ = dir;
  l->model_ = load_setokim(dir).ptr();
  l->model_->eval();
  l->tok_ = std::make_unique<llm::TextTokenizer>(llm::TextTokenizer::load(dir));
  l->domain_ = DomainProfile::load(dir);
  return l;
}

LoadedSetokim::~LoadedSetokim() = default;

}  // namespace setok::mllm
