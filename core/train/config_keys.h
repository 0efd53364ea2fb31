#pragma once
// Reading training configs: a key's value when it is there, and no key the trainer does not know
// (a misspelt option would otherwise be ignored, and a run of hours would train the wrong thing).
#include <nlohmann/json.hpp>

#include <string>

#include "core/runtime/error.h"

namespace setok::train {

template <class T>
void get_to(const nlohmann::json& j, const char* key, T& v) {
  if (j.contains(key)) v = j[key].get<T>();
}

// Throws "training config: unknown key 'drop_sufix' (known: a, b, …)" for the first key of `j` that
// `known` (a config's to_json()) lacks.
inline void reject_unknown_keys(const nlohmann::json& j, const nlohmann::json& known) {
  for (const auto& [key, value] : j.items()) {
    if (known.contains(key)) continue;
    std::string list;
    for (const auto& [k, v] : known.items()) list += (list.empty() ? "" : ", ") + k;
    throw Error("training config: unknown key '" + key + "' (known: " + list + ")");
  }
}

}  // namespace setok::train
