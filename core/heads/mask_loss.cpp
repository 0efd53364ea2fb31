#include "core/heads/mask_loss.h"

#include <ATen/ATen.h>

namespace setok::heads {

at::Tensor bce_dice(const at::Tensor& logits, const at::Tensor& target, double bce_weight, double dice_weight) {
  at::Tensor t = target.to(logits.dtype()).expand_as(logits);
  at::Tensor bce = at::binary_cross_entropy_with_logits(logits, t, {}, {}, at::Reduction::None).mean({2, 3});
  at::Tensor p = at::sigmoid(logits);
  at::Tensor inter = (p * t).sum({2, 3}), total = p.sum({2, 3}) + t.sum({2, 3});
  at::Tensor dice = 1 - (2 * inter + 1) / (total + 1);
  return bce_weight * bce + dice_weight * dice;
}

at::Tensor mask_iou(const at::Tensor& logits, const at::Tensor& target) {
  at::NoGradGuard g;
  at::Tensor p = logits.gt(0), t = target.gt(0.5).expand_as(p);
  at::Tensor inter = (p & t).sum({2, 3}).to(at::kFloat), uni = (p | t).sum({2, 3}).to(at::kFloat);
  return at::where(uni.gt(0), inter / uni.clamp_min(1), at::ones_like(uni));
}

}  // namespace setok::heads
