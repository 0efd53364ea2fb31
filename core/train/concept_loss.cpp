#include "core/train/concept_loss.h"

#include <ATen/ATen.h>

namespace setok::train {

at::Tensor object_tokens(const at::Tensor& hard_masks, const at::Tensor& token_valid, const at::Tensor& object_masks) {
  at::Tensor overlap = at::matmul(object_masks.to(hard_masks.scalar_type()), hard_masks.detach());  // [K, C]
  overlap = overlap.masked_fill(~token_valid.unsqueeze(0), -1.0);
  return overlap.argmax(1);
}

at::Tensor own_tokens(const at::Tensor& hard_masks, const at::Tensor& which, const at::Tensor& object_masks) {
  at::Tensor obj = object_masks.to(at::kFloat) >= 0.5;                          // [K, N]
  at::Tensor tok = hard_masks.index_select(1, which).t().to(at::kFloat) > 0.5;  // [K, N]
  at::Tensor inter = (obj & tok).sum(1).to(at::kFloat), uni = (obj | tok).sum(1).to(at::kFloat);
  return inter >= 0.5 * uni.clamp_min(1);
}

ConceptLoss concept_contrastive_loss(const at::Tensor& tokens, const at::Tensor& texts, const at::Tensor& labels,
                                     const at::Tensor& logit_scale) {
  at::Tensor v = tokens / tokens.norm(2, -1, true).clamp_min(1e-6);
  at::Tensor t = texts / texts.norm(2, -1, true).clamp_min(1e-6);
  at::Tensor logits = logit_scale * at::matmul(v, t.t());  // [M, L]
  ConceptLoss out;
  // Eq. 5 (token -> text): each object's token picks its label's prompt among the batch's labels.
  out.token_to_text = at::cross_entropy_loss(logits, labels);
  // Eq. 6 (text -> token): each label's prompt picks, among all object tokens of the batch, the
  // tokens of objects with that label (several positives: the log of their summed probability).
  at::Tensor pos = at::one_hot(labels, texts.size(0)).to(at::kBool);  // [M, L]
  at::Tensor log_p = at::log_softmax(logits, 0);
  at::Tensor present = pos.any(0);
  at::Tensor per_label = -at::logsumexp(log_p.masked_fill(~pos, -1e9), 0);  // [L]
  out.text_to_token = per_label.masked_select(present).mean();
  out.loss = out.token_to_text + out.text_to_token;
  out.accuracy = (logits.detach().argmax(1) == labels).to(at::kFloat).mean().item<double>();
  return out;
}

}  // namespace setok::train
