#pragma once
// An untrained diffusion head of the right widths saved beside a SeTokim (tests of the writing
// mechanics: requests, cancellation, the GUI's tools; not of the pictures).
#include <string>

#include "core/heads/diffusion_head.h"
#include "core/mllm/loaded_setokim.h"
#include "core/mllm/setokim.h"

namespace setok::test {

inline void save_untrained_head(const std::string& setokim_dir) {
  auto loaded = mllm::LoadedSetokim::load(setokim_dir);
  const auto& c = loaded->model()->config();
  heads::DiffusionHeadConfig hc;
  hc.token_dim = loaded->model()->setok->config().merger.dim_out() + mllm::kGeometryDims +
                 static_cast<std::int64_t>(c.token_appearance) * c.token_appearance;
  hc.condition_dim = c.text.hidden_size;
  hc.width = 32;
  hc.depth = 1;
  hc.sample_steps = 2;
  heads::DiffusionHead head(hc);
  heads::save_diffusion_head(setokim_dir, *head);
}

}  // namespace setok::test
