#pragma once
// The diffusion head at work: L_vis, the loss that teaches it a visual token given the language
// model's state, and the sampler that draws a token from a state (respaced steps, temperature,
// classifier-free guidance). Noise comes from the generator given, so the same seed draws the same
// tokens.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/heads/diffusion_head.h"

namespace setok::heads {

// L_vis, the mean over rows of the hybrid loss (DiffusionSchedule::loss): each token [N, token_dim]
// (as the tokenizer writes it; normalised here) with its condition [N, condition_dim], repeated
// `repeats` times with fresh timesteps and noise (MAR: 4; cheap beside the language model).
at::Tensor diffusion_loss(DiffusionHeadImpl& head, const at::Tensor& tokens, const at::Tensor& condition,
                          std::int64_t repeats = 4, const at::Generator& generator = {});

struct DiffusionSampling {
  std::int64_t steps = 0;    // respaced steps; 0: the head's sample_steps
  double temperature = 1.0;  // scales the noise added at each step (not the starting noise)
  double cfg = 1.0;          // guidance: ε = ε_null + cfg (ε_cond - ε_null); 1: no null pass
};

// One token per row of `condition` [N, condition_dim], as the tokenizer writes tokens (denormalised).
// With cfg ≠ 1, `null_condition` [N, condition_dim] (the state without the prompt) is required.
at::Tensor sample_tokens(DiffusionHeadImpl& head, const at::Tensor& condition, const at::Tensor& null_condition,
                         const DiffusionSampling& options, const at::Generator& generator = {});

}  // namespace setok::heads
