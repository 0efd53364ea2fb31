#pragma once
// SeTokim writes an image (§2.2): after the request it emits [Img], then one visual token at a
// time — the diffusion head samples each token from the language model's state at the position
// before it, and the sampled token goes back in through the projector as the next input — until
// the language model itself says [/Img] (or max_tokens). The detokenizer then draws the set, which
// holds every number it reads: no pixel of any image is involved.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/heads/diffusion_head.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/setokim.h"
#include "core/tokenizer/token_set.h"

namespace setok::mllm {

struct ImageWriting {
  std::uint64_t seed = 0;
  double cfg = 3.0;          // classifier-free guidance against the null request (1: none)
  std::int64_t steps = 0;    // diffusion steps per token (0: the head's default)
  double temperature = 1.0;  // the diffusion noise's scale
  std::int64_t max_tokens = 16;
  std::int64_t min_tokens = 1;    // the stop is asked only after this many (an edit may write none)
  double stop_probability = 0.5;  // [/Img] once the model gives it at least this
  // Teacher forcing, to tell the head's fidelity from the drift of writing: when set ([C, width],
  // in writing order), the model reads these tokens instead of the ones it samples, and writes
  // exactly C of them (the stop is not asked).
  at::Tensor teacher;
};

struct WrittenImage {
  tokenizer::TokenSet tokens;                  // in the order written
  at::Tensor pixels;                           // [1, 3, S, S] the detokenizer's picture, about [-1, 1]
  bool finished = false;                       // the model wrote [/Img] (not cut at max_tokens)
  std::vector<double> stop;                    // p([/Img]) after each token
  double lm_ms = 0, head_ms = 0, draw_ms = 0;  // the language model's passes, the sampling, the drawing
};

// `request` and `null_request`: the user turns (generation_request(prompt), null_generation_request()).
// progress(tokens written) may return false to stop (throws setok::Error "cancelled").
// The writing loop alone, from prepared inputs: `seq` [1, T, D] ends with the answer's [Img] (and
// `null_seq`, the null request's, likewise; undefined when options.cfg is 1). The tokens only:
// `pixels` and `draw_ms` stay empty.
WrittenImage write_tokens(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                          at::Tensor seq, at::Tensor null_seq, const ImageWriting& options,
                          const std::function<bool(std::int64_t)>& progress = nullptr);

// `request`'s answer embeddings up to and including its [Img]: [1, T, D]. `images` are the
// request's own images (projected), one per [Img][/Img] pair in it.
at::Tensor answer_prefix(SetokimImpl& model, const llm::TextTokenizer& tok, const std::string& request,
                         const std::vector<VisualTokens>& images = {}, const std::string& answer_text = "");

WrittenImage write_image(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                         const std::string& request, const std::string& null_request, const ImageWriting& options,
                         const std::function<bool(std::int64_t)>& progress = nullptr);

}  // namespace setok::mllm
