#include "core/mllm/detokenizer_swap.h"

#include <string>

#include "core/runtime/error.h"

namespace setok::mllm {

namespace {
bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
}  // namespace

void swap_detokenizer(io::Checkpoint& setokim, const io::Checkpoint& setok) {
  if (setokim.config.value("model_type", "") != "setokim" || !setokim.config.contains("setok_config"))
    throw Error("the model to change is not a SeTokim");
  if (setok.config.value("model_type", "") != "setok" || !setok.config.contains("detokenizer"))
    throw Error("the detokenizer's source is not a SeTok model");
  nlohmann::json& own = setokim.config["setok_config"]["detokenizer"];
  const nlohmann::json& other = setok.config["detokenizer"];
  if (own.value("token_dim", -1) != other.value("token_dim", -2))
    throw Error("the SeTok's detokenizer reads tokens of another width than SeTokim's merger writes");
  for (auto it = setokim.tensors.begin(); it != setokim.tensors.end();)
    it = starts_with(it->first, "setok.detokenizer.") ? setokim.tensors.erase(it) : std::next(it);
  int moved = 0;
  for (const auto& [name, t] : setok.tensors)
    if (starts_with(name, "detokenizer.")) setokim.tensors["setok." + name] = t, ++moved;
  if (moved == 0) throw Error("the SeTok model has no detokenizer weights");
  own = other;
}

}  // namespace setok::mllm
