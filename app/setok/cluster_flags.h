#pragma once
// The Token Cluster's settings as command-line flags, shared by cluster, tokenize and bench.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/tokenizer/cluster_options.h"

namespace setok::cli {

struct ClusterFlags {
  tokenizer::ClusterParams params;
  std::string mode = "hard";
  // Applies the flags given on the command line over `base` (the model's or the defaults).
  tokenizer::ClusterParams resolve(const tokenizer::ClusterParams& base, const CLI::App& sub) const;
};

std::shared_ptr<ClusterFlags> add_cluster_flags(CLI::App* sub);

}  // namespace setok::cli
