#include "core/train/edit_task.h"

#include <ATen/ATen.h>

#include "core/runtime/error.h"

namespace setok::train {
namespace {

// [C, N] float: token c's patches.
at::Tensor token_patches(const mllm::VisualTokens& t) {
  const at::Tensor a = t.assignment.to(at::kCPU, at::kLong);
  return at::one_hot(a.clamp_min(0), t.count()).t().to(at::kFloat) * (a >= 0).to(at::kFloat).unsqueeze(0);
}

}  // namespace

at::Tensor changed_pixels(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.dim() != 4 || a.size(0) != 1)
    throw Error("an edit's two pictures must have the same size");
  return ((a - b).abs().amax(1)[0] > 1e-3).cpu();
}

at::Tensor changed_share(const mllm::VisualTokens& t, const at::Tensor& changed) {
  at::Tensor f = at::adaptive_avg_pool2d(changed.to(at::kFloat).view({1, 1, changed.size(0), changed.size(1)}),
                                         {t.grid_h, t.grid_w})
                     .reshape({-1});  // [N] the changed share of each patch
  const at::Tensor p = token_patches(t);
  return p.matmul(f) / p.sum(1).clamp_min(1);
}

EditPlan plan_edit(const mllm::VisualTokens& in, const mllm::VisualTokens& out, const at::Tensor& changed,
                   double share) {
  const at::Tensor concerned_in = changed_share(in, changed) >= share;
  const at::Tensor concerned_out = changed_share(out, changed) >= share;
  const at::Tensor pi = token_patches(in), po = token_patches(out);
  // Patch overlap of every input token with every concerned token of the edited image.
  at::Tensor inter = pi.matmul(po.t());                                      // [Ci, Co]
  at::Tensor uni = pi.sum(1).unsqueeze(1) + po.sum(1).unsqueeze(0) - inter;  // [Ci, Co]
  at::Tensor iou = (inter / uni.clamp_min(1)) * concerned_out.to(at::kFloat).unsqueeze(0);
  EditPlan plan;
  for (std::int64_t i = 0; i < in.count(); ++i) {
    if (!concerned_in[i].item<bool>()) plan.status.push_back(mllm::TokenEdit::kKeep);
    else if (out.count() > 0 && iou[i].max().item<double>() >= 0.3) plan.status.push_back(mllm::TokenEdit::kChange);
    else plan.status.push_back(mllm::TokenEdit::kRemove);
  }
  plan.written = at::nonzero(concerned_out).view({-1});
  return plan;
}

}  // namespace setok::train
