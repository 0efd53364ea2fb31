#include "core/heads/referring_request.h"

#include <ATen/ATen.h>

#include "core/llm/text_tokenizer.h"
#include "core/mllm/chat_template.h"
#include "core/runtime/error.h"

namespace setok::heads {

namespace {

// [SEG]'s input embedding [1, D]: the model's own row, or the mean of its rows.
at::Tensor seg_embedding(mllm::SetokimImpl& model, const llm::TextTokenizer& tok) {
  const at::Tensor& table = model.language_model->model->embed_tokens->weight;
  if (tok.has_seg_token(table.size(0))) return table[tok.seg_id()].view({1, -1});
  return table.mean(0).view({1, -1});
}

}  // namespace

std::vector<LanguageStates> language_states(mllm::SetokimImpl& model, const llm::TextTokenizer& tok,
                                            const mllm::VisualTokens& v, const std::vector<std::string>& requests) {
  at::NoGradGuard g;
  auto& lm = model.language_model;
  at::Tensor seg = seg_embedding(model, tok);
  std::vector<at::Tensor> rows;
  std::vector<mllm::ImageSpan> spans;
  std::vector<std::int64_t> lengths;
  std::int64_t longest = 0;
  for (const std::string& request : requests) {
    mllm::EncodedChat chat = mllm::encode_chat(tok, {{"user", request, 1}}, true);
    std::vector<mllm::ImageSpan> sp;
    at::Tensor emb = model.embed_sequence(chat.ids, tok.img_begin_id(), tok.img_end_id(), {v}, &sp)[0];
    if (sp.size() != 1) throw Error("referring request: expected one image");
    rows.push_back(at::cat({emb, seg.to(emb.dtype())}, 0));
    spans.push_back(sp[0]);
    lengths.push_back(rows.back().size(0));
    longest = std::max(longest, lengths.back());
  }
  if (rows.empty()) return {};
  for (auto& r : rows)
    if (r.size(0) < longest) r = at::cat({r, at::zeros({longest - r.size(0), r.size(1)}, r.options())}, 0);
  at::Tensor hidden = lm->hidden(at::stack(rows));
  std::vector<LanguageStates> out;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::int64_t start = spans[i].start, count = spans[i].length;
    LanguageStates s;
    at::Tensor h = hidden[static_cast<std::int64_t>(i)].narrow(0, 0, lengths[i]);
    s.visual = h.slice(0, start, start + count).to(at::kFloat);
    at::Tensor words = rows[i].narrow(0, start + count + 1, lengths[i] - start - count - 1);
    s.request = at::cat({h.slice(0, start + count + 1), words}, 1).to(at::kFloat);  // after [/Img], through [SEG]
    out.push_back(s);
  }
  return out;
}

LanguageStates language_states(mllm::SetokimImpl& model, const llm::TextTokenizer& tok, const mllm::VisualTokens& v,
                               const std::string& request) {
  return language_states(model, tok, v, std::vector<std::string>{request})[0];
}

}  // namespace setok::heads
