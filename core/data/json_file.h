#pragma once
// Reading dataset JSON with errors a user can act on: "FILE: annotations[3]: 'bbox' missing".
#include <nlohmann/json.hpp>
#include <string>

#include "core/runtime/error.h"

namespace setok::data {

nlohmann::json read_json_file(const std::string& path);
// Every line of a JSON Lines file (blank lines skipped).
std::vector<nlohmann::json> read_jsonl_file(const std::string& path);

// j[key] as T; throws setok::Error naming the file, where in it (`at`), and the fault.
template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& path, const std::string& at) {
  if (!j.is_object()) throw Error(path + ": " + at + " is not an object");
  auto it = j.find(key);
  if (it == j.end()) throw Error(path + ": " + at + ": '" + key + "' missing");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": " + at + ": '" + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

// The same, or `fallback` when the key is absent or null.
template <class T>
T field_or(const nlohmann::json& j, const char* key, T fallback, const std::string& path, const std::string& at) {
  if (!j.is_object()) throw Error(path + ": " + at + " is not an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return field<T>(j, key, path, at);
}

// A list field, which must be an array.
const nlohmann::json& array_field(const nlohmann::json& j, const char* key, const std::string& path,
                                  const std::string& at);

}  // namespace setok::data
