#pragma once
// The Token Cluster's clean-up steps (not in the paper): after clustering in hard mode at
// inference, tokens split into their islands, small regions join a neighbour and edge patches move
// to the token they are most like, on the square patch grid. Why, and what each gains:
// docs/design/tokenizer.md.
#include <ATen/core/Tensor.h>

#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/token_cluster.h"

namespace setok::tokenizer {

// Hard-mode results only: each token whose patches form several 4-connected regions of a square
// grid becomes one token per region of at least min_patches patches (largest first, up to
// max_tokens in all; the token's largest region keeps its place and its seed, the others are
// appended with their densest patch as seed); smaller regions stay with the largest. Soft masks
// follow: a new token's soft mask is the old token's on its own patches. See
// ClusterParams::split_islands.
ClusterResult split_islands(const ClusterResult& r, int min_patches, int max_tokens);

// Hard-mode results only: each 4-connected region of one token on a square grid with fewer than
// min_patches patches joins the adjacent token whose mean unit feature of x [B,N,D] is most like
// the region's, smallest regions first (regions are found again after each move), until none is
// left that small; at least one token stays. Tokens that keep a patch keep their order and seeds;
// moved patches take their soft mass to their new token, and a token that lost every patch hands
// the rest of its soft mask to the token that took its last region. See
// ClusterParams::min_region_patches.
ClusterResult absorb_small_regions(const ClusterResult& r, const at::Tensor& x, int min_patches);

// Hard-mode results only: up to `passes` passes in which every patch with a 4-neighbour in another
// token moves to whichever of its own token and the tokens holding at least two of its
// 4-neighbours has the mean unit feature of x [B,N,D] most alike (cosine; its own token's mean
// without the patch itself). Decisions are
// taken on the grouping before each pass; a token that would lose every patch keeps them; passes
// stop early when nothing moves. Moved patches take their soft mass to their new token. Token
// count, order and seeds are unchanged. See ClusterParams::edge_passes.
ClusterResult refine_edges(const ClusterResult& r, const at::Tensor& x, int passes);

// What follows clustering in hard mode at inference, in this order: split_islands,
// absorb_small_regions, then refine_edges, each when its setting is on; x is the features the
// cluster saw.
ClusterResult tidy_tokens(const ClusterResult& r, const at::Tensor& x, const ClusterParams& params);

}  // namespace setok::tokenizer
