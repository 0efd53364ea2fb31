#include "core/mllm/image_editor.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

#include "core/eval/label_maps.h"
#include "core/mllm/chat_template.h"
#include "core/mllm/edit_composite.h"
#include "core/mllm/token_order.h"
#include "core/runtime/error.h"

namespace setok::mllm {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// log p of the answer's first words `words` ("keep change", no space after the last: what follows
// it in training is the next word or, after the last one, " [Img]") after the request.
double answer_logp(SetokimImpl& model, const llm::TextTokenizer& tok, const std::vector<std::int64_t>& user,
                   const VisualTokens& image, const std::string& words) {
  const std::vector<std::int64_t> answer = tok.encode(" " + words);
  const std::int64_t n = static_cast<std::int64_t>(answer.size());
  if (n == 0) throw Error("an edit's answer word encodes to nothing");
  std::vector<std::int64_t> ids = user;
  ids.insert(ids.end(), answer.begin(), answer.end());
  at::Tensor emb = model.embed_sequence(ids, tok.img_begin_id(), tok.img_end_id(), {image});
  const std::int64_t T = emb.size(1);
  at::Tensor logits = model.language_model->logits(model.language_model->hidden(emb).narrow(1, T - n - 1, n));
  at::Tensor logp = at::log_softmax(logits[0].to(at::kFloat), -1);  // [n, V]
  at::Tensor target = at::tensor(answer, at::kLong);
  return logp.gather(1, target.to(logp.device()).unsqueeze(1)).sum().item<double>();
}

// One word per input token, the most likely given the words before it (or forced by the options).
std::vector<TokenEdit> decide_status(SetokimImpl& model, const llm::TextTokenizer& tok, const VisualTokens& image,
                                     const std::string& request, const ImageEditing& o) {
  const std::vector<std::int64_t> user = encode_chat(tok, {{"user", request, 1}}, true).ids;
  const std::int64_t c = image.count();
  const at::Tensor region = o.region.defined() ? o.region.to(at::kCPU, at::kBool) : at::ones({c}, at::kBool);
  std::vector<TokenEdit> status;
  for (std::int64_t k = 0; k < c; ++k) {
    if (!region[k].item<bool>()) {
      status.push_back(TokenEdit::kKeep);
      continue;
    }
    if (o.regenerate_all) {
      status.push_back(TokenEdit::kChange);
      continue;
    }
    TokenEdit best = TokenEdit::kKeep;
    double best_logp = -1e300;
    for (int e = 0; e < kTokenEdits; ++e) {
      std::vector<TokenEdit> s = status;
      s.push_back(static_cast<TokenEdit>(e));
      std::string words = edit_status_text(s);
      words.pop_back();  // the space after the last word
      const double lp = answer_logp(model, tok, user, image, words);
      if (lp > best_logp) best_logp = lp, best = static_cast<TokenEdit>(e);
    }
    status.push_back(best);
  }
  return status;
}

}  // namespace

std::vector<std::int64_t> EditedImage::indices(TokenEdit e) const {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < status.size(); ++i)
    if (status[i] == e) out.push_back(static_cast<std::int64_t>(i));
  return out;
}

std::int64_t EditedImage::added() const {
  return std::max<std::int64_t>(0, written.count() - static_cast<std::int64_t>(indices(TokenEdit::kChange).size()));
}

EditedImage edit_image(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                       const VisualTokens& input, const std::string& instruction, const ImageEditing& o,
                       const std::function<bool(std::int64_t)>& progress) {
  if (instruction.find_first_not_of(" \t\n") == std::string::npos) throw Error("the instruction is empty");
  if (input.count() < 1) throw Error("the image has no visual tokens");
  if (o.region.defined() && (o.region.dim() != 1 || o.region.size(0) != input.count()))
    throw Error("the region must say, for each of the image's tokens, whether it may change");
  c10::InferenceMode guard;
  EditedImage out;
  auto t0 = Clock::now();
  const VisualTokens image = model.project(input);
  out.status = decide_status(model, tok, image, edit_request(instruction), o);
  const std::string words = edit_status_text(out.status);
  at::Tensor seq = answer_prefix(model, tok, edit_request(instruction), {image}, words);
  at::Tensor null_seq =
      o.writing.cfg != 1.0 ? answer_prefix(model, tok, null_edit_request(), {image}, words) : at::Tensor();
  const double decide_ms = ms_since(t0);
  ImageWriting w = o.writing;
  w.min_tokens = out.indices(TokenEdit::kKeep).empty() ? 1 : 0;  // something to draw
  WrittenImage written = write_tokens(model, head, tok, seq, null_seq, w, progress);
  out.written = written.tokens;
  out.finished = written.finished;
  out.lm_ms = decide_ms + written.lm_ms;
  out.head_ms = written.head_ms;
  const std::vector<std::int64_t> kept = out.indices(TokenEdit::kKeep);
  const at::Tensor packed_in = packed_tokens(input).cpu();
  at::Tensor rows = packed_in.index_select(0, at::tensor(kept, at::kLong));
  if (out.written.count() > 0) rows = at::cat({rows, out.written.packed().cpu().to(at::kFloat)}, 0);
  if (rows.size(0) == 0) throw Error("the edit removed every token: nothing is left to draw");
  const std::int64_t token_dim = input.embeds.size(1);
  out.tokens = tokenizer::TokenSet::unpack(rows, token_dim, model.setok->config().vision.image_size);
  t0 = Clock::now();
  at::Tensor place_logits;
  out.pixels = tokenizer::draw_token_set(*model.setok, out.tokens, &place_logits);
  if (place_logits.defined()) out.place_owner = place_logits.argmax(-1).cpu();
  out.draw_ms = ms_since(t0);
  return out;
}

PictureEdit edit_picture(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                         const io::Image& picture, const std::string& instruction, ImageEditing options,
                         const at::Tensor& mask, const std::function<bool(std::int64_t)>& progress) {
  c10::InferenceMode guard;
  const VisualTokens raw = in_generation_order(model.visual_tokens(model.setok->preprocess(picture)));
  if (mask.defined()) options.region = tokens_under_mask(raw, mask);
  PictureEdit out;
  out.edit = edit_image(model, head, tok, raw, instruction, options, progress);
  if (out.edit.changes_nothing())
    throw Error(std::string("the instruction changes nothing in this picture") +
                (mask.defined() ? " (inside the selection)" : ""));
  if (options.whole_picture) {
    out.picture = edited_picture(out.edit, picture.width, picture.height);
    return out;
  }
  EditComposite c = composite_edit(picture, raw, out.edit);
  out.picture = std::move(c.picture);
  out.drawn_share = c.drawn_share();
  return out;
}

io::Image edited_picture(const EditedImage& e, int width, int height) {
  at::Tensor px = e.pixels.detach().to(at::kCPU, at::kFloat).clamp(-1, 1);
  if (px.size(2) != height || px.size(3) != width) px = at::upsample_bilinear2d(px, {height, width}, false);
  return eval::to_image(px[0]);
}

at::Tensor tokens_under_mask(const VisualTokens& input, const at::Tensor& mask) {
  if (mask.dim() != 2) throw Error("a region mask is one channel, [H, W]");
  const std::int64_t c = input.count(), H = mask.size(0), W = mask.size(1);
  at::Tensor grid = input.assignment.to(at::kCPU, at::kLong).view({1, 1, input.grid_h, input.grid_w}).to(at::kFloat);
  at::Tensor owner = at::upsample_nearest2d(grid, {H, W}).view({-1}).to(at::kLong);  // [H·W]
  at::Tensor m = mask.to(at::kCPU, at::kFloat).reshape({-1});
  at::Tensor area = at::zeros({c}).index_add_(0, owner.clamp_min(0), at::ones_like(m));
  at::Tensor inside = at::zeros({c}).index_add_(0, owner.clamp_min(0), m);
  const double total = std::max(1.0, m.sum().item<double>());
  return (inside >= 0.25 * area.clamp_min(1)) | (inside >= 0.5 * total);
}

}  // namespace setok::mllm
