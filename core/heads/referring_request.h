#pragma once
// What the language model makes of a referring request (paper §2.2; LISA's [SEG]): the request is
// asked as a chat turn — "USER: [Img]…[/Img]\nSegment {expression}.\nASSISTANT:" — and the model's
// answer opens with the segmentation token [SEG]. The decoder reads the final hidden states from the
// request's text through [SEG], and the states at the image's visual tokens.
//
// [SEG] is the language model's own token when it has one (Stage II grew its tables and taught it
// to answer a request with [SEG]); otherwise its input embedding is the mean of the model's token
// embeddings (how HuggingFace starts a token added to a vocabulary). The language model is frozen
// while the decoder learns, so the states depend only on the request.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/mllm/referring_wording.h"
#include "core/mllm/setokim.h"

namespace setok::llm {
class TextTokenizer;
}

namespace setok::heads {

struct LanguageStates {
  // [T, 2D]: for the request's text tokens after [/Img], then [SEG], the final hidden state and,
  // beside it, the token's input embedding (what the word is, whatever the frozen model made of it).
  at::Tensor request;
  at::Tensor visual;  // [C, D]: the visual tokens' states
};

// Runs the language model once over a request (the user's words, as referring_request makes them
// or as typed in a chat; no gradient). v: the image's projected visual tokens (encode_image).
LanguageStates language_states(mllm::SetokimImpl& model, const llm::TextTokenizer& tok, const mllm::VisualTokens& v,
                               const std::string& request);
// The same for several requests about one image in one pass (right-padded: causal attention keeps
// each request's states what they would be alone).
std::vector<LanguageStates> language_states(mllm::SetokimImpl& model, const llm::TextTokenizer& tok,
                                            const mllm::VisualTokens& v, const std::vector<std::string>& requests);

}  // namespace setok::heads
