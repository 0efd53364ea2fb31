#pragma once
// `--set KEY=VALUE` on a training config, as `setok train` and `setok plan` take it.
#include <nlohmann/json.hpp>
#include <string>

namespace setok::cli {

// "merger.use_position=false" -> config["model"]["merger"]["use_position"] = false. The value is
// read as JSON when it parses (numbers, true/false, null, arrays), else taken as a string.
void apply_override(nlohmann::json& cfg, const std::string& kv);

}  // namespace setok::cli
