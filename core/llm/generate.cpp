#include "core/llm/generate.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>

#include "core/runtime/error.h"

namespace setok::llm {

std::int64_t sample_token(const at::Tensor& logits_in, const SamplingOptions& o, std::mt19937_64& rng) {
  at::Tensor logits = logits_in.reshape({-1}).to(at::kFloat).cpu();
  if (o.temperature <= 0) return logits.argmax().item<std::int64_t>();
  at::Tensor p = at::softmax(logits / o.temperature, 0);
  at::Tensor sorted, order;
  std::tie(sorted, order) = p.sort(0, /*descending=*/true);
  const float* ps = sorted.data_ptr<float>();
  const std::int64_t V = sorted.size(0);
  // Nucleus: keep the head of the sorted distribution up to top_p (at least one token).
  std::int64_t keep = V;
  if (o.top_p < 1.0) {
    double acc = 0;
    for (std::int64_t i = 0; i < V; ++i) {
      acc += ps[i];
      if (acc >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double total = 0;
  for (std::int64_t i = 0; i < keep; ++i) total += ps[i];
  std::uniform_real_distribution<double> u(0.0, total);
  double r = u(rng), acc = 0;
  for (std::int64_t i = 0; i < keep; ++i) {
    acc += ps[i];
    if (r < acc) return order[i].item<std::int64_t>();
  }
  return order[keep - 1].item<std::int64_t>();
}

GenerateResult generate(LlamaForCausalLM& model, const at::Tensor& prompt_embeds, KVCache& cache,
                        const SamplingOptions& o, const DecodeFn& decode, const StreamFn& stream) {
  if (prompt_embeds.dim() != 3 || prompt_embeds.size(0) != 1)
    throw Error("generate takes one prompt: embeddings [1, T, D]");
  if (prompt_embeds.size(1) < 1) throw Error("generate needs a prompt of at least one token");
  c10::InferenceMode guard;
  GenerateResult r;
  r.prompt_length = prompt_embeds.size(1);
  std::mt19937_64 rng(o.seed);
  auto clock = [] { return std::chrono::steady_clock::now(); };
  auto t0 = clock();
  at::Tensor h = model->hidden(prompt_embeds, &cache);
  at::Tensor last = model->logits(h.narrow(1, h.size(1) - 1, 1));
  r.prefill_seconds = std::chrono::duration<double>(clock() - t0).count();
  auto t1 = clock();
  std::string emitted;  // text already streamed
  r.stop_reason = "length";
  for (std::int64_t step = 0; step < o.max_new_tokens; ++step) {
    const std::int64_t id = sample_token(last, o, rng);
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), id) != o.stop_ids.end()) {
      r.stop_reason = "eos";
      break;
    }
    r.tokens.push_back(id);
    std::string text = decode(r.tokens);
    // A stop string ends generation; the text before it is the answer.
    std::size_t cut = std::string::npos;
    for (const auto& s : o.stop) {
      if (s.empty()) continue;
      auto p = text.find(s);
      if (p != std::string::npos) cut = std::min(cut, p);
    }
    if (cut != std::string::npos) {
      text = text.substr(0, cut);
      r.stop_reason = "stop";
    }
    // Stream what is certain: hold back a tail that could still grow into a stop string, and
    // never emit text the decoder might still change (a partial UTF-8 sequence).
    std::size_t safe = text.size();
    if (r.stop_reason != "stop") {
      for (const auto& s : o.stop)
        for (std::size_t k = s.empty() ? 0 : std::min(s.size() - 1, text.size()); k > 0; --k)
          if (text.compare(text.size() - k, k, s, 0, k) == 0) {
            safe = std::min(safe, text.size() - k);
            break;
          }
      while (safe > 0 && (static_cast<unsigned char>(text[safe - 1]) & 0xC0) == 0x80) --safe;
      if (safe > 0 && (static_cast<unsigned char>(text[safe - 1]) & 0x80)) --safe;
    }
    if (safe > emitted.size() && text.compare(0, emitted.size(), emitted) == 0) {
      const std::string piece = text.substr(emitted.size(), safe - emitted.size());
      emitted = text.substr(0, safe);
      if (stream && !stream(piece)) {
        r.text = emitted;
        r.stop_reason = "cancelled";
        r.decode_seconds = std::chrono::duration<double>(clock() - t1).count();
        // The cache keeps the tokens fed so far (the last sampled one was never fed).
        return r;
      }
    }
    if (r.stop_reason == "stop") {
      r.text = text;
      break;
    }
    r.text = text;
    if (step + 1 == o.max_new_tokens) break;
    at::Tensor ids = at::tensor({id}, at::TensorOptions().dtype(at::kLong).device(prompt_embeds.device())).view({1, 1});
    last = model->logits(model->hidden(model->embed(ids), &cache));
  }
  if (stream && r.text.size() > emitted.size() && r.text.compare(0, emitted.size(), emitted) == 0)
    stream(r.text.substr(emitted.size()));
  r.decode_seconds = std::chrono::duration<double>(clock() - t1).count();
  return r;
}

}  // namespace setok::llm
