#include "core/mllm/image_writer.h"

#include <chrono>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/heads/token_diffusion.h"
#include "core/mllm/chat_template.h"
#include "core/runtime/error.h"

namespace setok::mllm {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// A written token [1, width] as the language model reads it next: [1, 1, D].
at::Tensor token_embed(SetokimImpl& model, const at::Tensor& packed, std::int64_t token_dim) {
  VisualTokens raw;
  raw.embeds = packed.narrow(1, 0, token_dim);
  raw.geometry = packed.narrow(1, token_dim, packed.size(1) - token_dim);
  return model.project(raw).embeds.unsqueeze(0);
}

}  // namespace

at::Tensor answer_prefix(SetokimImpl& model, const llm::TextTokenizer& tok, const std::string& request,
                         const std::vector<VisualTokens>& images, const std::string& answer_text) {
  EncodedChat enc = encode_chat(tok, {{"user", request, static_cast<int>(images.size())}}, true);
  std::vector<std::int64_t> ids = enc.ids;
  // The answer as training encodes it (" " + text + "[Img][/Img]"), cut before its [Img].
  std::vector<std::int64_t> answer = tok.encode(" " + answer_text + "[Img][/Img]");
  if (answer.size() < 2 || answer[answer.size() - 2] != tok.img_begin_id() || answer.back() != tok.img_end_id())
    throw Error("the answer's text does not end where its image starts");
  ids.insert(ids.end(), answer.begin(), answer.end() - 2);
  at::Tensor text = model.embed_sequence(ids, tok.img_begin_id(), tok.img_end_id(), images);
  const auto dev = text.device();
  at::Tensor img = model.language_model->embed(at::full({1, 1}, tok.img_begin_id(), at::kLong).to(dev));
  return at::cat({text, img.to(text.scalar_type())}, 1);
}

WrittenImage write_tokens(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                          at::Tensor seq, at::Tensor null_seq, const ImageWriting& o,
                          const std::function<bool(std::int64_t)>& progress) {
  if (o.max_tokens < 1 || o.min_tokens < 0 || o.min_tokens > o.max_tokens)
    throw Error("max_tokens must be at least 1, and min_tokens between 0 and max_tokens");
  if (o.teacher.defined() &&
      (o.teacher.dim() != 2 || o.teacher.size(0) < 1 || o.teacher.size(1) != head.config().token_dim))
    throw Error("teacher tokens must be rows of the head's width");
  if (!tok.has_null_token(model.config().text.vocab_size) && o.cfg != 1.0)
    throw Error("this SeTokim has no null prompt ([Null]): guidance needs a model trained to generate");
  const std::int64_t token_dim = model.setok->config().detokenizer.token_dim();
  if (head.config().token_dim <= token_dim) throw Error("the diffusion head writes tokens narrower than SeTok's");
  c10::InferenceMode guard;
  at::Generator gen = at::detail::createCPUGenerator(o.seed);
  const bool guided = o.cfg != 1.0;
  if (guided && !null_seq.defined()) throw Error("guidance needs the null request's sequence");
  std::vector<at::Tensor> rows;
  WrittenImage out;
  heads::DiffusionSampling ds;
  ds.steps = o.steps;
  ds.temperature = o.temperature;
  ds.cfg = o.cfg;
  const bool forced = o.teacher.defined();
  const std::int64_t cap = forced ? o.teacher.size(0) : o.max_tokens;
  for (std::int64_t k = 0; k < cap; ++k) {
    auto t0 = Clock::now();
    at::Tensor h = model.language_model->hidden(seq).select(1, -1);  // [1, D]
    if (k >= o.min_tokens && !forced) {
      const double p = at::softmax(model.language_model->logits(h.unsqueeze(1)).to(at::kFloat), -1)
                           .select(-1, tok.img_end_id())
                           .item<double>();
      out.stop.push_back(p);
      if (p >= o.stop_probability) {
        out.finished = true;
        out.lm_ms += ms_since(t0);
        break;
      }
    }
    at::Tensor hn = guided ? model.language_model->hidden(null_seq).select(1, -1) : at::Tensor();
    out.lm_ms += ms_since(t0);
    t0 = Clock::now();
    at::Tensor tok_k = heads::sample_tokens(head, h.to(at::kFloat), guided ? hn.to(at::kFloat) : hn, ds, gen);
    out.head_ms += ms_since(t0);
    rows.push_back(tok_k.cpu());
    const at::Tensor read = forced ? o.teacher.narrow(0, k, 1).to(tok_k.device(), at::kFloat) : tok_k;
    at::Tensor e = token_embed(model, read, token_dim).to(seq.scalar_type());
    seq = at::cat({seq, e}, 1);
    if (guided) null_seq = at::cat({null_seq, e}, 1);
    if (progress && !progress(k + 1)) throw Error("cancelled");
  }
  const at::Tensor packed = rows.empty() ? at::zeros({0, head.config().token_dim}) : at::cat(rows, 0);
  out.tokens = tokenizer::TokenSet::unpack(packed, token_dim, model.setok->config().vision.image_size);
  return out;
}

WrittenImage write_image(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                         const std::string& request, const std::string& null_request, const ImageWriting& o,
                         const std::function<bool(std::int64_t)>& progress) {
  c10::InferenceMode guard;
  at::Tensor seq = answer_prefix(model, tok, request);
  at::Tensor null_seq = o.cfg != 1.0 ? answer_prefix(model, tok, null_request) : at::Tensor();
  WrittenImage out = write_tokens(model, head, tok, seq, null_seq, o, progress);
  const auto t0 = Clock::now();
  out.pixels = tokenizer::draw_token_set(*model.setok, out.tokens);
  out.draw_ms = ms_since(t0);
  return out;
}

}  // namespace setok::mllm
