#pragma once
// A SeTok model's configuration: encoder, cluster, merger and detokenizer, as one config.json.
#include <nlohmann/json.hpp>

#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/detokenizer.h"
#include "core/tokenizer/token_merger.h"
#include "core/vision/siglip_config.h"

namespace setok::tokenizer {

struct SetokConfig {
  vision::SiglipVisionConfig vision;
  ClusterParams cluster;
  bool learnable_bandwidth = true;
  TokenMergerOptions merger;
  DetokenizerOptions detokenizer;
  bool trained = false;  // false for a freshly initialised model; training sets it

  // The paper's full-size model (§3, D.1) and the project's embedded one.
  static SetokConfig paper();
  static SetokConfig small();

  nlohmann::json to_json() const;
  // Missing sections fall back to small()'s; validates and throws setok::Error.
  static SetokConfig from_json(const nlohmann::json& j);
  void validate() const;
};

}  // namespace setok::tokenizer
