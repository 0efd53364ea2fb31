#include "core/eval/edit_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <tuple>

#include "core/data/instruct_pix2pix.h"
#include "core/eval/picture_objects.h"
#include "core/heads/diffusion_head.h"
#include "core/mllm/edit_composite.h"
#include "core/mllm/loaded_setokim.h"
#include "core/mllm/token_order.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_set.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

using Clause = std::tuple<int, int, int, int>;  // class, colour, row, col

std::vector<Clause> clauses(const std::vector<PictureObject>& seen) {
  std::vector<Clause> c;
  for (const auto& o : seen) c.emplace_back(o.cls, o.colour, o.row, o.col);
  std::sort(c.begin(), c.end());
  return c;
}

// One output's figures against the target; `region` [H, W] bool: where the edit changes the picture.
struct Tally {
  std::int64_t n = 0, success = 0;
  double l1 = 0, l2 = 0, l1_in = 0, l1_out = 0;
  void add(const at::Tensor& out, const at::Tensor& target, const at::Tensor& region, bool ok) {
    const at::Tensor d = (out - target).abs();  // [3, H, W]
    const at::Tensor in = region.to(at::kFloat).unsqueeze(0).expand_as(d);
    ++n;
    success += ok;
    l1 += d.mean().item<double>();
    l2 += d.square().mean().item<double>();
    l1_in += (d * in).sum().item<double>() / std::max(1.0, in.sum().item<double>());
    l1_out += (d * (1 - in)).sum().item<double>() / std::max(1.0, (1 - in).sum().item<double>());
  }
  nlohmann::json json() const {
    const double k = std::max<double>(1, static_cast<double>(n));
    return {{"edits", n},   {"success", success / k}, {"l1", l1 / k},
            {"l2", l2 / k}, {"l1_inside", l1_in / k}, {"l1_outside", l1_out / k}};
  }
};

struct Judging {
  tokenizer::SetokModel finder{nullptr};
  ObjectJudge judge{nullptr};
  std::vector<Clause> of(const io::Image& picture) { return clauses(picture_objects(*finder, *judge, picture)); }
};

}  // namespace

std::string edit_kind(const std::string& edited_image) {
  const std::string stem = fs::path(edited_image).stem().string();
  const auto at = stem.rfind('_');
  const std::string k = at == std::string::npos ? "" : stem.substr(at + 1);
  for (const char* known : {"recolour", "remove", "add", "move"})
    if (k == known) return k;
  return "other";
}

nlohmann::json evaluate_editing(const EditEvalOptions& o,
                                const std::function<bool(std::int64_t, std::int64_t)>& progress) {
  const fs::path file = fs::path(o.data) / "annotations" / ("edits_" + o.split + ".jsonl");
  const auto edits = data::read_edit_triplets(file.string());
  auto loaded = mllm::LoadedSetokim::load(o.model);
  heads::DiffusionHead head = heads::load_diffusion_head(o.model);
  Judging j{tokenizer::load_setok(o.setok), load_object_judge(o.judge)};
  if (!o.out.empty()) fs::create_directories(o.out);
  c10::InferenceMode guard;
  mllm::SetokimImpl& model = *loaded->model();
  std::map<std::string, Tally> model_by_kind;
  Tally edit, whole, identity, regenerate, ceiling;
  double ms = 0, kept = 0, tokens = 0, written = 0, drawn = 0;
  std::int64_t failed = 0;  // edits that could not be drawn (every token removed, nothing written)
  const std::int64_t total = o.limit > 0 ? std::min<std::int64_t>(o.limit, edits.size()) : edits.size();
  for (std::int64_t i = 0; i < total; ++i) {
    const auto& e = edits[static_cast<std::size_t>(i)];
    const io::Image input = io::load_image(e.input_image), target = io::load_image(e.edited_image);
    const at::Tensor in_px = picture_pixels(input), tgt_px = picture_pixels(target);
    if (in_px.sizes() != tgt_px.sizes()) throw Error(e.edited_image + ": not the input's size");
    const at::Tensor region = (in_px - tgt_px).abs().amax(0) > 0;
    const std::vector<Clause> want = j.of(target);
    const at::Tensor px = model.setok->preprocess(input);
    const mllm::VisualTokens raw = mllm::in_generation_order(model.visual_tokens(px));
    const auto t0 = std::chrono::steady_clock::now();
    io::Image out = input, out_whole = input;  // a failed edit counts as the identity edit, and as no success
    bool made = false;
    try {
      const mllm::EditedImage ed = mllm::edit_image(model, *head, loaded->tokenizer(), raw, e.instruction, o.editing);
      kept += static_cast<double>(ed.indices(mllm::TokenEdit::kKeep).size());
      tokens += static_cast<double>(ed.status.size());
      written += static_cast<double>(ed.written.count());
      out_whole = mllm::edited_picture(ed, target.width, target.height);
      mllm::EditComposite c = mllm::composite_edit(input, raw, ed);
      drawn += c.drawn_share();
      out = o.editing.whole_picture ? out_whole : std::move(c.picture);
      made = true;
    } catch (const Error&) {
      ++failed;
    }
    ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!o.out.empty()) io::save_png((fs::path(o.out) / fs::path(e.edited_image).filename()).string(), out);
    const bool ok = made && j.of(out) == want;
    edit.add(picture_pixels(out), tgt_px, region, ok);
    whole.add(picture_pixels(out_whole), tgt_px, region, made && j.of(out_whole) == want);
    model_by_kind[edit_kind(e.edited_image)].add(picture_pixels(out), tgt_px, region, ok);
    if (o.baselines) {
      identity.add(in_px, tgt_px, region, j.of(input) == want);
      mllm::ImageEditing all = o.editing;
      all.regenerate_all = true;
      const io::Image re = mllm::edited_picture(
          mllm::edit_image(model, *head, loaded->tokenizer(), raw, e.instruction, all), target.width, target.height);
      regenerate.add(picture_pixels(re), tgt_px, region, j.of(re) == want);
      const at::Tensor tpx = model.setok->preprocess(target);
      const tokenizer::TokenSet set = tokenizer::make_token_set(*model.setok, tpx, model.setok->tokenize(tpx));
      mllm::EditedImage through;
      through.pixels = tokenizer::draw_token_set(*model.setok, set);
      const io::Image drawn = mllm::edited_picture(through, target.width, target.height);
      ceiling.add(picture_pixels(drawn), tgt_px, region, j.of(drawn) == want);
    }
    if (progress && !progress(i + 1, total)) break;
  }
  const double n = std::max<double>(1, static_cast<double>(edit.n));
  nlohmann::json r = {{"model", o.model},
                      {"split", o.split},
                      {"edit", edit.json()},
                      {"edit_whole_picture", whole.json()},
                      {"drawn_share", drawn / n},
                      {"ms_per_edit", ms / n},
                      {"tokens_kept", kept / std::max(1.0, tokens)},
                      {"tokens_written_per_edit", written / n},
                      {"failed", failed}};
  for (const auto& [k, t] : model_by_kind) r["edit_by_kind"][k] = t.json();
  if (o.baselines) {
    r["identity"] = identity.json();
    r["regenerate_all"] = regenerate.json();
    r["target_through_tokens"] = ceiling.json();
  }
  return r;
}

}  // namespace setok::eval
