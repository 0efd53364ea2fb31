#pragma once
// One answer from SeTokim: the chat so far (its user turns holding images), the images' visual
// tokens, and the sampling settings; streams through `stream` and stops at </s> or "USER:".
#include <string>
#include <vector>

#include "core/llm/generate.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/chat_template.h"
#include "core/mllm/setokim.h"

namespace setok::mllm {

struct Answer {
  llm::GenerateResult generation;
  std::vector<ImageSpan> spans;  // where each image's tokens sat in the prompt
  std::string text;              // trimmed
  // Per image span (same order as `spans`): the share of attention the answer's tokens paid to
  // each of that image's visual tokens, averaged over heads, layers and generated tokens. The
  // answer's grounding as far as the model can tell; a sum below 1 is attention spent on text.
  std::vector<std::vector<float>> image_attention;
};

// The tokenizer's decode, with the segmentation token written as "[SEG]" where the model gave it.
std::string decode_with_seg(const llm::TextTokenizer& tok, const std::vector<std::int64_t>& ids);

Answer answer(Setokim& model, const llm::TextTokenizer& tok, const std::vector<VisualTokens>& images,
              const std::vector<ChatMessage>& chat, const llm::SamplingOptions& sampling,
              const llm::StreamFn& stream = {});

}  // namespace setok::mllm
