#include "core/train/generation_task.h"

#include <ATen/ATen.h>

#include "core/heads/token_diffusion.h"
#include "core/mllm/generation_request.h"

namespace setok::train {

GenerationBatch generation_batch(const std::vector<GenerationTarget>& targets, std::int64_t length,
                                 const at::Device& device) {
  std::vector<std::int64_t> cond, cont;
  std::vector<at::Tensor> rows;
  for (std::size_t b = 0; b < targets.size(); ++b) {
    const GenerationTarget& t = targets[b];
    if (!t.tokens.defined()) continue;
    const std::int64_t base = static_cast<std::int64_t>(b) * length;
    const std::int64_t c = std::min<std::int64_t>(t.tokens.size(0), length - t.start);
    if (t.start < 1 || c < 1) continue;
    cont.push_back(base + t.start - 1);  // the answer's [Img]: the image has at least this one token
    for (std::int64_t j = 0; j < c; ++j) {
      cond.push_back(base + t.start + j - 1);
      if (j + 1 < t.tokens.size(0) && t.start + j + 1 < length) cont.push_back(base + t.start + j);
    }
    rows.push_back(t.tokens.narrow(0, 0, c));
  }
  GenerationBatch g;
  if (rows.empty()) return g;
  g.condition_index = at::tensor(cond, at::kLong).to(device);
  g.continue_index = at::tensor(cont, at::kLong).to(device);
  g.targets = at::cat(rows, 0).to(device);
  return g;
}

GenerationLosses generation_losses(llm::LlamaForCausalLMImpl& lm, heads::DiffusionHeadImpl& head,
                                   const at::Tensor& hidden, const GenerationBatch& b, std::int64_t img_end,
                                   std::int64_t repeats, const at::Generator& noise) {
  GenerationLosses l;
  const at::Tensor flat = hidden.reshape({-1, hidden.size(-1)});
  l.vis =
      heads::diffusion_loss(head, b.targets, flat.index_select(0, b.condition_index).to(at::kFloat), repeats, noise);
  if (b.continue_index.numel() == 0) {
    l.stop = l.vis * 0.0;
    return l;
  }
  at::Tensor logits = lm.logits(flat.index_select(0, b.continue_index).unsqueeze(0))[0].to(at::kFloat);
  at::Tensor log_p_end = at::log_softmax(logits, -1).select(1, img_end);
  // -log(1 - p), kept finite where p is close to 1.
  l.stop = -at::log1p(-log_p_end.exp().clamp_max(1 - 1e-6)).mean();
  return l;
}

}  // namespace setok::train
