#include "app/setok/writer_options.h"

#include <cstdio>
#include <filesystem>

#include "core/eval/object_judge.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::cli {

void add_writing_options(CLI::App* sub, mllm::ImageWriting& w, const std::string& max_tokens_help) {
  sub->add_option("--seed", w.seed, "Seed: the same seed gives the same picture");
  sub->add_option("--cfg", w.cfg, "Classifier-free guidance scale (1: none)")->check(CLI::Range(0.0, 20.0));
  sub->add_option("--steps", w.steps, "Diffusion steps per token (default: the head's)")->check(CLI::Range(1, 1000));
  sub->add_option("--temperature", w.temperature, "Diffusion noise scale")->check(CLI::Range(0.0, 5.0));
  if (!max_tokens_help.empty())
    sub->add_option("--max-tokens", w.max_tokens, max_tokens_help)->check(CLI::Range(1, 256));
}

void resolve_judged_models(std::string& model, std::string& judge, std::string& setok, const std::string& data) {
  if (model.empty()) model = tokenizer::default_setokim_model();
  if (judge.empty()) judge = eval::default_judge_model();
  setok = tokenizer::default_setok_model();
  if (model.empty() || judge.empty() || setok.empty())
    throw Error("a SeTokim (-m), an object judge (--judge) and the bundled SeTok are needed");
  if (!std::filesystem::is_directory(data)) throw Error(data + ": no such dataset folder");
}

bool print_progress(std::int64_t done, std::int64_t total) {
  std::fprintf(stderr, "\r%lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
  return true;
}

}  // namespace setok::cli
