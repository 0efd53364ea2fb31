#pragma once
// How well hard token masks segment an image into its objects: (foreground) Adjusted Rand Index,
// mIoU against instance masks, and whether the token count follows the object count.
// Definitions and choices: docs/design/metrics.md.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace setok::eval {

// Adjusted Rand Index (Hubert & Arabie 1985) between two labelings of the same points. Label values
// are arbitrary ids (only equality matters). When the index is undefined (0/0: both labelings put
// everything in one cluster, both make every point its own cluster, or fewer than two points) the
// two partitions are identical and the ARI is defined as 1.
double adjusted_rand_index(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
// Tensors of any shape with the same number of elements (e.g. [H,W] label maps), integer dtype.
double adjusted_rand_index(const at::Tensor& truth, const at::Tensor& pred);

// Foreground ARI: the ARI over the points whose ground-truth label is not `background`; the
// prediction keeps all its labels. NaN when the ground truth has no foreground point (there is
// nothing to segment, so the image should not count in a mean).
double foreground_ari(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred, int64_t background = 0);
double foreground_ari(const at::Tensor& truth, const at::Tensor& pred, int64_t background = 0);

// Where FG-ARI is lost. Each object's main token is the predicted label holding most of its
// pixels (ties: the smallest label). `whole`: the FG-ARI had every object's pixels all gone to its
// main token (what splitting objects across tokens, edge patches included, costs); `unshared`:
// the FG-ARI had no two objects shared a main token (each object's pixels in its main token get a
// label of their own; what merging objects into one token costs). Both read the ground truth, so
// they diagnose a grouping and are not a score of it. NaN when there is no foreground.
struct FgAriBreakdown {
  double whole = 0;
  double unshared = 0;
};
FgAriBreakdown fg_ari_breakdown(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred,
                                int64_t background = 0);
FgAriBreakdown fg_ari_breakdown(const at::Tensor& truth, const at::Tensor& pred, int64_t background = 0);

struct InstanceIou {
  double matched = 0;       // mean IoU under a one-to-one (Hungarian) matching; unmatched instances score 0
  double best_overlap = 0;  // mean over instances of the best IoU with any predicted segment
  int64_t instances = 0;    // ground-truth instances (labels other than background)
};

// truth: instance id per pixel (`background` = no instance); pred: predicted segment (token) per
// pixel, e.g. the argmax of hard token masks. Both NaN when there are no instances.
InstanceIou instance_miou(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred, int64_t background = 0);
InstanceIou instance_miou(const at::Tensor& truth, const at::Tensor& pred, int64_t background = 0);

struct TokenCountAgreement {
  double pearson = 0;     // correlation of tokens with objects across images; NaN if either is constant
  double within_one = 0;  // fraction of images with |tokens − (objects + 1)| ≤ 1 (the +1 is the background)
  int64_t images = 0;
};

TokenCountAgreement token_count_agreement(const std::vector<int64_t>& tokens, const std::vector<int64_t>& objects);

}  // namespace setok::eval
