#include "core/train/grouping_loss.h"

#include <ATen/ATen.h>

namespace setok::train {

at::Tensor grouping_loss(const at::Tensor& features, const at::Tensor& patch_labels, double temperature,
                         at::Tensor* items) {
  const int64_t n = features.size(1);
  at::Tensor x = features / features.norm(2, -1, true).clamp_min(1e-6);
  at::Tensor logits = at::bmm(x, x.transpose(1, 2)) / temperature;  // [B,N,N]
  at::Tensor eye = at::eye(n, features.options().dtype(at::kBool)).unsqueeze(0);
  at::Tensor valid = (patch_labels >= 0);
  at::Tensor pair_ok = valid.unsqueeze(2) & valid.unsqueeze(1) & ~eye;
  at::Tensor pos = (patch_labels.unsqueeze(2) == patch_labels.unsqueeze(1)) & pair_ok;
  at::Tensor log_p = at::log_softmax(logits.masked_fill(~pair_ok, -1e9), 2);
  at::Tensor per = -at::logsumexp(log_p.masked_fill(~pos, -1e9), 2);  // [B,N]
  at::Tensor has_pos = pos.any(2) & valid;
  if (items) *items = has_pos;
  return per.masked_select(has_pos).mean();
}

}  // namespace setok::train
