#pragma once
// Settings of the Token Cluster (Algorithm 1). The algorithm itself is written down once, in
// docs/design/tokenizer.md; every implementation (LibTorch reference, fused CPU, CUDA) follows it.
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace setok::tokenizer {

enum class ClusterMode { kHard, kSoft };

struct ClusterParams {
  int max_tokens = 16;          // cap on tokens per image, the final scope included
  int knn = 5;                  // K of Eq. 1 (the patch itself counts as one neighbour)
  float beta = 1.0f;            // seed-score penalty of Algorithm 1, line 4
  float bandwidth = 0.0f;       // σ of the kernel exp(-d²/σ); 0: 1/(max_tokens·ln 2), the paper's C·ln2
  float stop_fraction = 0.01f;  // stop when fewer than this fraction of patches is unclaimed
  // λ: each patch's place on the grid (x, y in [-1, 1]) times λ joins its unit-length feature
  // before the cosine distances, so that far-apart patches of the same look are less alike
  // (not in the paper; 0, the default, is the paper's features alone). Needs a square grid.
  float position_weight = 0.0f;
  // Islands: after clustering (hard mode, inference), a token whose patches form several
  // 4-connected regions on the grid becomes one token per region of at least this many patches,
  // largest first, within max_tokens; smaller regions stay with the token's largest one (not in
  // the paper; 0, the default, is off). Needs a square grid.
  int split_islands = 0;
  // Small regions: after the islands (hard mode, inference), every 4-connected region of one
  // token on the grid with fewer than this many patches joins the adjacent token whose mean
  // feature is most alike, smallest first: stray one-patch tokens at object borders stop counting
  // as objects, and stray patches far from the rest of their token join what surrounds them (not
  // in the paper; 0, the default, is off). Needs a square grid.
  int min_region_patches = 0;
  // Edge patches: last (hard mode, inference), up to this many passes in which each patch on a
  // token's edge on the grid moves to whichever of its own token and the tokens holding two or
  // more of its 4-neighbours has the mean unit feature most like its own (its own token's mean
  // without it): one step of
  // k-means confined to the edges, so the tokens' edges follow their features after the seeds'
  // order and the clean-up steps above placed them (not in the paper; 0, the default, is off).
  // Needs a square grid.
  int edge_passes = 0;
  ClusterMode mode = ClusterMode::kHard;

  float effective_bandwidth() const;
  // Throws setok::Error with a one-line reason for values the algorithm cannot use.
  void validate() const;
};

std::string to_string(ClusterMode m);
ClusterMode parse_cluster_mode(const std::string& s);  // "hard" | "soft"

void to_json(nlohmann::json& j, const ClusterParams& p);
void from_json(const nlohmann::json& j, ClusterParams& p);

}  // namespace setok::tokenizer
