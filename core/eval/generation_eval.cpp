#include "core/eval/generation_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <tuple>

#include "core/data/coco.h"
#include "core/data/generation_prompts.h"
#include "core/eval/fid_setok.h"
#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/eval/picture_objects.h"
#include "core/heads/diffusion_head.h"
#include "core/mllm/generation_request.h"
#include "core/mllm/loaded_setokim.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_set.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

using Clause = std::tuple<int, int, int, int>;  // class, colour, row, col

// Each picture's objects as the world annotated them.
std::map<std::string, std::vector<Clause>> prompt_objects(const std::string& instances, const ObjectJudgeConfig& jc) {
  const data::CocoInstances coco = data::read_coco_instances(instances);
  std::map<std::int64_t, const data::CocoImage*> images;
  for (const auto& im : coco.images) images[im.id] = &im;
  std::map<std::string, std::vector<Clause>> out;
  for (const auto& im : coco.images) out[im.file_name];
  for (const auto& a : coco.annotations) {
    const data::CocoImage& im = *images.at(a.image_id);
    auto m = data::annotation_mask(a, im.height, im.width);
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < im.height; ++y)
      for (int x = 0; x < im.width; ++x)
        if (m[static_cast<std::size_t>(y) * im.width + x]) sx += x + 0.5, sy += y + 0.5, n += 1;
    if (n == 0) continue;
    const int colour = static_cast<int>(std::find(jc.colours.begin(), jc.colours.end(), a.colour) - jc.colours.begin());
    out[im.file_name].emplace_back(static_cast<int>(a.category_id - 1), colour, third(sy / n, im.height),
                                   third(sx / n, im.width));
  }
  return out;
}

// How a picture's objects compare with the prompt's.
struct Score {
  bool exact = false;
  int asked = 0, found = 0, placed = 0;  // objects asked; found with class and colour; and in place
};

Score score(std::vector<Clause> asked, const std::vector<PictureObject>& seen) {
  std::vector<Clause> got;
  for (const auto& o : seen) got.emplace_back(o.cls, o.colour, o.row, o.col);
  Score s;
  s.asked = static_cast<int>(asked.size());
  std::vector<bool> used(got.size(), false);
  for (const Clause& c : asked) {
    int any = -1, exact = -1;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (used[i] || std::get<0>(got[i]) != std::get<0>(c) || std::get<1>(got[i]) != std::get<1>(c)) continue;
      if (any < 0) any = static_cast<int>(i);
      if (got[i] == c && exact < 0) exact = static_cast<int>(i);
    }
    const int take = exact >= 0 ? exact : any;
    if (take < 0) continue;
    used[static_cast<std::size_t>(take)] = true;
    ++s.found;
    s.placed += exact >= 0;
  }
  std::sort(asked.begin(), asked.end());
  std::sort(got.begin(), got.end());
  s.exact = asked == got;
  return s;
}

struct Tally {
  std::int64_t pictures = 0, exact = 0, asked = 0, found = 0, placed = 0;
  void add(const Score& s) { ++pictures, exact += s.exact, asked += s.asked, found += s.found, placed += s.placed; }
  nlohmann::json json() const {
    auto r = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    return {{"pictures", pictures},
            {"accuracy", r(exact, pictures)},
            {"objects_found", r(found, asked)},
            {"objects_in_place", r(placed, asked)}};
  }
};

// The mean of 1 − cosine over the pairs of rows of x [n ≥ 2, d].
double mean_cosine_distance(const at::Tensor& x) {
  const at::Tensor u = x / x.norm(2, 1, true).clamp_min(1e-12);
  const double n = static_cast<double>(x.size(0));
  return (n * n - u.matmul(u.t()).sum().item<double>()) / (n * (n - 1));  // the diagonal's 1s drop out
}

// The mean of 1 − cosine between the features of a prompt's pictures: `first` (drawn with w.seed)
// and seeds-1 more drawn with the seeds after it.
double seed_spread(mllm::SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                   tokenizer::SetokModelImpl& finder, const std::string& prompt, mllm::ImageWriting w,
                   std::int64_t seeds, const at::Tensor& first) {
  std::vector<at::Tensor> f{first};
  for (std::int64_t k = 1; k < seeds; ++k) {
    w.seed += 1;
    const mllm::WrittenImage img =
        mllm::write_image(model, head, tok, mllm::generation_request(prompt), mllm::null_generation_request(), w);
    f.push_back(setok_feature(finder, to_image(img.pixels.clamp(-1, 1)[0])));
  }
  return mean_cosine_distance(at::stack(f));
}

}  // namespace

nlohmann::json evaluate_generation(const GenerationEvalOptions& o,
                                   const std::function<bool(std::int64_t, std::int64_t)>& progress) {
  const fs::path ann = fs::path(o.data) / "annotations";
  const auto prompts = data::read_generation_prompts((ann / ("prompts_" + o.split + ".jsonl")).string());
  auto loaded = mllm::LoadedSetokim::load(o.model);
  heads::DiffusionHead head = heads::load_diffusion_head(o.model);
  ObjectJudge judge = load_object_judge(o.judge);
  tokenizer::SetokModel finder = tokenizer::load_setok(o.setok);
  const auto truth = prompt_objects((ann / ("instances_" + o.split + ".json")).string(), judge->config());
  if (!o.out.empty()) fs::create_directories(o.out);
  c10::InferenceMode guard;
  mllm::SetokimImpl& model = *loaded->model();
  Tally gen, reference, through_tokens, forced;
  std::vector<at::Tensor> features[3];
  double spread = 0;  // diversity across seeds, summed over prompts  // FID-setok: generated, the prompts' pictures,
                      // those through the tokens
  double forced_psnr = 0;
  double ms = 0, tokens = 0, finished = 0;
  const std::int64_t total = o.limit > 0 ? std::min<std::int64_t>(o.limit, prompts.size()) : prompts.size();
  for (std::int64_t i = 0; i < total; ++i) {
    const auto& p = prompts[static_cast<std::size_t>(i)];
    auto it = truth.find(p.relative);
    if (it == truth.end()) throw Error(p.relative + ": a prompt whose picture has no annotations");
    const auto t0 = std::chrono::steady_clock::now();
    mllm::WrittenImage w = mllm::write_image(model, *head, loaded->tokenizer(), mllm::generation_request(p.prompt),
                                             mllm::null_generation_request(), o.writing);
    ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    tokens += static_cast<double>(w.tokens.count());
    finished += w.finished;
    const io::Image picture = to_image(w.pixels.clamp(-1, 1)[0]);
    if (!o.out.empty()) io::save_png((fs::path(o.out) / fs::path(p.relative).filename()).string(), picture);
    gen.add(score(it->second, picture_objects(*finder, *judge, picture)));
    features[0].push_back(setok_feature(*finder, picture));
    if (o.seeds > 1)
      spread +=
          seed_spread(model, *head, loaded->tokenizer(), *finder, p.prompt, o.writing, o.seeds, features[0].back());
    // The ceilings: the prompt's own picture, and that picture through SeTokim's tokens.
    const io::Image ref = io::load_image(p.image);
    reference.add(score(it->second, picture_objects(*finder, *judge, ref)));
    features[1].push_back(setok_feature(*finder, ref));
    const at::Tensor px = model.setok->preprocess(ref);
    const tokenizer::TokenSet set = tokenizer::make_token_set(*model.setok, px, model.setok->tokenize(px));
    const io::Image drawn = to_image(tokenizer::draw_token_set(*model.setok, set).clamp(-1, 1)[0]);
    through_tokens.add(score(it->second, picture_objects(*finder, *judge, drawn)));
    features[2].push_back(setok_feature(*finder, drawn));
    if (o.teacher_forced) {
      mllm::ImageWriting tf = o.writing;
      at::Tensor order = mllm::generation_order(set.descriptors);
      tf.teacher = set.select(order).packed();
      mllm::WrittenImage f = mllm::write_image(model, *head, loaded->tokenizer(), mllm::generation_request(p.prompt),
                                               mllm::null_generation_request(), tf);
      forced.add(score(it->second, picture_objects(*finder, *judge, to_image(f.pixels.clamp(-1, 1)[0]))));
      forced_psnr += psnr((f.pixels.clamp(-1, 1) + 1) / 2, (px.clamp(-1, 1) + 1) / 2)[0].item<double>();
    }
    if (progress && !progress(i + 1, total)) break;
  }
  const double n = std::max<std::int64_t>(1, gen.pictures);
  nlohmann::json r = {{"model", o.model},
                      {"data", o.data},
                      {"split", o.split},
                      {"judge", o.judge},
                      {"seed", o.writing.seed},
                      {"cfg", o.writing.cfg},
                      {"steps", o.writing.steps},
                      {"temperature", o.writing.temperature},
                      {"generated", gen.json()},
                      {"reference_pictures", reference.json()},
                      {"reference_through_tokens", through_tokens.json()},
                      {"tokens_per_picture", tokens / n},
                      {"finished_share", finished / n},
                      {"ms_per_picture", ms / n}};
  if (features[0].size() >= 2) {
    const at::Tensor ref = at::stack(features[1]);
    r["fid_setok"] = {{"generated", frechet_distance(at::stack(features[0]), ref)},
                      {"reference_through_tokens", frechet_distance(at::stack(features[2]), ref)},
                      {"pictures", features[0].size()},
                      {"feature_dims", ref.size(1)}};
  }
  if (o.seeds > 1)
    r["diversity"] = {
        {"seeds", o.seeds},
        {"prompts", gen.pictures},
        {"feature_distance", spread / n},
        // For scale: the same between different prompts' own pictures.
        {"between_prompts_pictures", features[1].size() >= 2 ? mean_cosine_distance(at::stack(features[1])) : 0.0}};
  if (o.teacher_forced) {
    r["teacher_forced"] = forced.json();
    r["teacher_forced"]["psnr_db"] = forced_psnr / n;
  }
  return r;
}

}  // namespace setok::eval
