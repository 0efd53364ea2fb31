#pragma once
// The mask decoder's losses (SAM, LISA): binary cross-entropy plus Dice per mask, the IoU head's
// squared error against the IoU each mask really has.
#include <ATen/core/Tensor.h>

namespace setok::heads {

// logits [B, M, H, W], target [B, 1, H, W] in {0, 1} → [B, M]: bce_weight·BCE + dice_weight·Dice,
// each the mean over the mask's pixels (LISA weighs BCE 2.0 and Dice 0.5).
at::Tensor bce_dice(const at::Tensor& logits, const at::Tensor& target, double bce_weight = 2.0,
                    double dice_weight = 0.5);
// IoU of each mask thresholded at logit 0 with the target: [B, M], no gradient. An empty mask for an
// empty target counts 1.
at::Tensor mask_iou(const at::Tensor& logits, const at::Tensor& target);

}  // namespace setok::heads
