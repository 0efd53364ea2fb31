#pragma once
// An image's raw visual tokens (before the projector) as SeTokim writes and reads them in
// generation and editing: in writing order (generation_order), and packed, vector then region
// descriptor, one row a token — what the diffusion head writes.
#include <ATen/core/Tensor.h>

#include "core/mllm/setokim.h"

namespace setok::mllm {

// The tokens in generation order; the patches' assignment follows their tokens' new indices.
VisualTokens in_generation_order(const VisualTokens& raw);
// Vector then descriptor of each token: [C, token_dim + descriptor dims], float.
at::Tensor packed_tokens(const VisualTokens& raw);
// The tokens `index` ([K] long) only, in that order (assignment not kept: patches of the others
// would have no token).
VisualTokens select_tokens(const VisualTokens& raw, const at::Tensor& index);

}  // namespace setok::mllm
