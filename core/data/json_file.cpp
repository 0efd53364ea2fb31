#include "core/data/json_file.h"

#include <fstream>

namespace setok::data {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    throw Error(path + ": not valid JSON (" + what.substr(what.find(']') + 2) + ")");
  }
}

std::vector<nlohmann::json> read_jsonl_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<nlohmann::json> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error&) {
      throw Error(path + ": line " + std::to_string(n) + " is not valid JSON");
    }
  }
  return out;
}

const nlohmann::json& array_field(const nlohmann::json& j, const char* key, const std::string& path,
                                  const std::string& at) {
  if (!j.is_object()) throw Error(path + ": " + at + " is not an object");
  auto it = j.find(key);
  if (it == j.end()) throw Error(path + ": " + at + ": '" + key + "' missing");
  if (!it->is_array()) throw Error(path + ": " + at + ": '" + key + "' is not a list");
  return *it;
}

}  // namespace setok::data
