#pragma once
// DPC-KNN with a fixed number of clusters, as Chat-UniVi and the SeTok authors' release run it
// (eager, no gradient): the baseline the Token Cluster is measured against, and the "fixed-K"
// clustering of the paper's Figure 1 and Table 5.
#include <ATen/core/Tensor.h>

namespace setok::tokenizer {

// x: [B,N,D]. Returns the cluster index of every patch, [B,N] int64 in [0, clusters).
at::Tensor dpc_knn(const at::Tensor& x, int clusters, int knn = 5);

}  // namespace setok::tokenizer
