#include "core/heads/referring_request.h"

#include <ATen/ATen.h>

#include "core/llm/text_tokenizer.h"
#include "core/mllm/chat_template.h"
#include "core/runtime/error.h"

namespace setok::heads {

std::string referring_request(const std::string& expression) {
  std::string e = expression;
  while (!e.empty() && (e.back() == ' ' || e.back() == '.')) e.pop_back();
  return "Segment " + e + ".";
}

LanguageStates language_states(mllm::SetokimImpl& model, const llm::TextTokenizer& tok, const mllm::VisualTokens& v,
                               const std::string& expression) {
  at::NoGradGuard g;
  mllm::EncodedChat chat = mllm::encode_chat(tok, {{"user", referring_request(expression), 1}}, true);
  std::vector<mllm::ImageSpan> spans;
  at::Tensor embeds = model.embed_sequence(chat.ids, tok.img_begin_id(), tok.img_end_id(), {v}, &spans);
  if (spans.size() != 1) throw Error("referring request: expected one image");
  auto& lm = model.language_model;
  at::Tensor seg = lm->model->embed_tokens->weight.mean(0).view({1, 1, -1}).to(embeds.dtype());
  at::Tensor hidden = lm->hidden(at::cat({embeds, seg}, 1)).squeeze(0);
  const std::int64_t start = spans[0].start, count = spans[0].length;
  LanguageStates s;
  s.visual = hidden.slice(0, start, start + count).to(at::kFloat);
  s.request = hidden.slice(0, start + count + 1).to(at::kFloat);  // after [/Img], through [SEG]
  return s;
}

}  // namespace setok::heads
