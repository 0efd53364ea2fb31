#include "app/setok/config_overrides.h"

#include "core/runtime/error.h"

namespace setok::cli {

void apply_override(nlohmann::json& cfg, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set " + kv + ": expected KEY=VALUE");
  const std::string key = kv.substr(0, eq), text = kv.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  nlohmann::json* node = &cfg;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("--set " + kv + ": empty key part");
    if (!node->is_object()) throw Error("--set " + kv + ": '" + part + "' is inside a value that is not an object");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    if (node->is_null()) *node = nlohmann::json::object();
    start = dot + 1;
  }
}

}  // namespace setok::cli
