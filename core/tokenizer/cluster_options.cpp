#include "core/tokenizer/cluster_options.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/runtime/error.h"

namespace setok::tokenizer {

float ClusterParams::effective_bandwidth() const {
  return bandwidth > 0 ? bandwidth : 1.0f / (static_cast<float>(max_tokens) * std::log(2.0f));
}

void ClusterParams::validate() const {
  if (max_tokens < 1 || max_tokens > 4096) throw Error("max_tokens must be between 1 and 4096");
  if (knn < 1) throw Error("knn must be at least 1");
  if (!(beta >= 0) || !std::isfinite(beta)) throw Error("beta must be a finite number >= 0");
  if (!(bandwidth >= 0) || !std::isfinite(bandwidth)) throw Error("bandwidth must be a finite number > 0 (0: default)");
  if (!(stop_fraction >= 0 && stop_fraction < 1)) throw Error("stop_fraction must be in [0, 1)");
  if (split_islands < 0 || split_islands > 4096) throw Error("split_islands must be between 0 (off) and 4096 patches");
  if (min_region_patches < 0 || min_region_patches > 4096)
    throw Error("min_region_patches must be between 0 (off) and 4096 patches");
  if (edge_passes < 0 || edge_passes > 64) throw Error("edge_passes must be between 0 (off) and 64");
  if (!(position_weight >= 0) || !std::isfinite(position_weight) || position_weight > 100)
    throw Error("position_weight must be a number from 0 to 100");
}

std::string to_string(ClusterMode m) { return m == ClusterMode::kHard ? "hard" : "soft"; }

ClusterMode parse_cluster_mode(const std::string& s) {
  if (s == "hard") return ClusterMode::kHard;
  if (s == "soft") return ClusterMode::kSoft;
  throw Error("cluster mode must be 'hard' or 'soft', not '" + s + "'");
}

void to_json(nlohmann::json& j, const ClusterParams& p) {
  j = {{"max_tokens", p.max_tokens},
       {"knn", p.knn},
       {"beta", p.beta},
       {"bandwidth", p.bandwidth},
       {"stop_fraction", p.stop_fraction},
       {"mode", to_string(p.mode)}};
  if (p.position_weight > 0) j["position_weight"] = p.position_weight;           // absent: the paper's 0
  if (p.split_islands > 0) j["split_islands"] = p.split_islands;                 // absent: off
  if (p.min_region_patches > 0) j["min_region_patches"] = p.min_region_patches;  // absent: off
  if (p.edge_passes > 0) j["edge_passes"] = p.edge_passes;                       // absent: off
}

void from_json(const nlohmann::json& j, ClusterParams& p) {
  ClusterParams d;
  p.max_tokens = j.value("max_tokens", d.max_tokens);
  p.knn = j.value("knn", d.knn);
  p.beta = j.value("beta", d.beta);
  p.bandwidth = j.value("bandwidth", d.bandwidth);
  p.stop_fraction = j.value("stop_fraction", d.stop_fraction);
  p.position_weight = j.value("position_weight", d.position_weight);
  p.split_islands = j.value("split_islands", d.split_islands);
  p.min_region_patches = j.value("min_region_patches", d.min_region_patches);
  p.edge_passes = j.value("edge_passes", d.edge_passes);
  p.mode = parse_cluster_mode(j.value("mode", std::string("hard")));
  p.validate();
}

}  // namespace setok::tokenizer
