#include "core/mllm/answer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace setok::mllm {

std::string decode_with_seg(const llm::TextTokenizer& tok, const std::vector<std::int64_t>& ids) {
  std::string out;
  std::vector<std::int64_t> run;
  for (std::int64_t id : ids) {
    if (id != tok.seg_id()) {
      run.push_back(id);
      continue;
    }
    out += tok.decode(run) + llm::kSeg;
    run.clear();
  }
  return out + tok.decode(run);
}

Answer answer(Setokim& model, const llm::TextTokenizer& tok, const std::vector<VisualTokens>& images,
              const std::vector<ChatMessage>& chat, const llm::SamplingOptions& sampling, const llm::StreamFn& stream) {
  c10::InferenceMode guard;
  Answer a;
  EncodedChat enc = encode_chat(tok, chat, /*add_generation_prompt=*/true);
  at::Tensor prompt = model->embed_sequence(enc.ids, tok.img_begin_id(), tok.img_end_id(), images, &a.spans);
  llm::SamplingOptions o = sampling;
  o.stop_ids.push_back(tok.eos_id());
  for (const auto& s : chat_stop_strings()) o.stop.push_back(s);
  llm::KVCache cache =
      llm::KVCache::allocate(model->config().text, 1, prompt.size(1) + o.max_new_tokens + 1, prompt.options());
  cache.attention_sum = at::zeros({cache.capacity}, at::kFloat);
  a.generation = llm::generate(
      model->language_model, prompt, cache, o,
      [&](const std::vector<std::int64_t>& ids) { return decode_with_seg(tok, ids); }, stream);
  const double steps = static_cast<double>(std::max<std::int64_t>(cache.record_steps, 1));
  for (const ImageSpan& s : a.spans) {
    at::Tensor w = (cache.attention_sum.narrow(0, s.start, s.length) / steps).contiguous();
    a.image_attention.emplace_back(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  }
  a.text = a.generation.text;
  while (!a.text.empty() && (a.text.front() == ' ' || a.text.front() == '\n')) a.text.erase(a.text.begin());
  while (!a.text.empty() && (a.text.back() == ' ' || a.text.back() == '\n')) a.text.pop_back();
  return a;
}

}  // namespace setok::mllm
