#pragma once
// The toy world's tiny SeTokim for tests (any connector: a one-layer LLaMA on the tiny SeTok) and
// an image for it.
#include <ATen/ATen.h>

#include "core/mllm/setokim.h"
#include "tests/support/toy_scenes.h"

namespace setok::test {

inline mllm::SetokimConfig tiny(mllm::Connector c) {
  mllm::SetokimConfig s;
  s.vision = ToyScenes::tiny_model();
  s.text.vocab_size = 40;
  s.text.hidden_size = 32;
  s.text.intermediate_size = 64;
  s.text.num_hidden_layers = 1;
  s.text.num_attention_heads = 4;
  s.text.num_key_value_heads = 2;
  s.connector = c;
  s.fixed_k = 5;
  return s;
}

// One toy-world image, [1, 3, H, W].
inline at::Tensor image() {
  ToyScenes d(4);
  return d.get(1).pixels.unsqueeze(0);
}

}  // namespace setok::test
