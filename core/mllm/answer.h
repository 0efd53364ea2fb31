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
};

Answer answer(Setokim& model, const llm::TextTokenizer& tok, const std::vector<VisualTokens>& images,
              const std::vector<ChatMessage>& chat, const llm::SamplingOptions& sampling,
              const llm::StreamFn& stream = {});

}  // namespace setok::mllm
