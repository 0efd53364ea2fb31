#pragma once
// Token Cluster settings for tests: a cap and a mode, everything else at its default.
#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/token_cluster.h"

namespace setok::test {

inline tokenizer::ClusterParams params(int cap, tokenizer::ClusterMode mode = tokenizer::ClusterMode::kHard) {
  tokenizer::ClusterParams p;
  p.max_tokens = cap;
  p.mode = mode;
  return p;
}

}  // namespace setok::test
