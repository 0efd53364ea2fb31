#include "core/eval/mllm_eval.h"

#include <c10/core/InferenceMode.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/data/coco.h"
#include "core/data/llava.h"
#include "core/data/vocabulary.h"
#include "core/eval/caption_metrics.h"
#include "core/eval/vqa_metrics.h"
#include "core/io/image.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/answer.h"
#include "core/mllm/chat_template.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

// One evaluation's model, its timings, and the answers it wrote.
class Asker {
 public:
  Asker(const mllm::LoadedSetokim& l, const MllmEvalOptions& o)
      : model_(l.model()), tok_(l.tokenizer()), root_(o.data), t0_(std::chrono::steady_clock::now()) {}

  mllm::VisualTokens encode(const std::string& rel) {
    c10::InferenceMode g;
    const at::Tensor pixels = model_->setok->preprocess(io::load_image(image_path(rel)));
    const auto t0 = std::chrono::steady_clock::now();
    mllm::VisualTokens v = model_->encode_image(pixels);
    encode_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    visual_ += v.count();
    ++images_;
    return v;
  }

  std::string ask(const mllm::VisualTokens& v, const std::string& question, int max_tokens) {
    llm::SamplingOptions o;
    o.max_new_tokens = max_tokens;
    mllm::Answer a = mllm::answer(model_, tok_, {v}, {{"user", question, 1}}, o);
    prefill_s_ += a.generation.prefill_seconds;
    decode_s_ += a.generation.decode_seconds;
    generated_ += static_cast<std::int64_t>(a.generation.tokens.size());
    ++answers_;
    return a.text;
  }

  // The speed figures, the images used and the seconds since the start, beside `scores`.
  nlohmann::json finish(nlohmann::json scores) const {
    scores["visual_tokens_per_image"] = images_ ? static_cast<double>(visual_) / images_ : 0.0;
    scores["prefill_ms_mean"] = answers_ ? 1000.0 * prefill_s_ / answers_ : 0.0;
    scores["encode_ms_mean"] = images_ ? 1000.0 * encode_s_ / images_ : 0.0;
    scores["decode_tokens_per_s"] = decode_s_ > 0 ? generated_ / decode_s_ : 0.0;
    scores["images"] = images_;
    scores["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    return scores;
  }

 private:
  std::string image_path(const std::string& rel) const {
    for (const fs::path& p : {root_ / rel, root_ / "images" / rel})
      if (fs::exists(p)) return p.string();
    throw Error("image " + rel + " not found under " + root_.string());
  }

  mllm::Setokim model_;
  const llm::TextTokenizer& tok_;
  fs::path root_;
  std::chrono::steady_clock::time_point t0_;
  double prefill_s_ = 0, decode_s_ = 0, encode_s_ = 0;
  std::int64_t generated_ = 0, answers_ = 0, visual_ = 0, images_ = 0;
};

std::string split_file(const MllmEvalOptions& o, const std::string& prefix, const char* ext = ".json") {
  const fs::path p = fs::path(o.data) / "annotations" / (prefix + "_" + o.split + ext);
  if (!fs::exists(p)) throw Error(p.string() + ": no such split in " + o.data);
  return p.string();
}

nlohmann::json answer_line(const std::string& image, const std::string& type, const std::string& question,
                           const std::string& prediction, nlohmann::json answers) {
  return {{"image", image}, {"type", type}, {"question", question}, {"prediction", prediction}, {"answers", answers}};
}

}  // namespace

MllmEvalResult evaluate_vqa(const mllm::LoadedSetokim& model, const MllmEvalOptions& o) {
  Asker asker(model, o);
  const auto convs = data::read_llava(split_file(o, "llava"));
  std::vector<VqaSample> samples;
  MllmEvalResult r;
  std::int64_t n = 0;
  for (const auto& c : convs) {
    if (c.image.empty()) continue;
    if (o.limit > 0 && n >= o.limit) break;
    ++n;
    const mllm::VisualTokens v = asker.encode(c.image);
    for (std::size_t k = 0; k + 1 < c.turns.size(); ++k) {
      const auto& q = c.turns[k];
      if (q.from != "human" || q.type.empty() || c.turns[k + 1].from != "gpt") continue;
      std::string text = q.value;
      if (auto p = text.find("<image>"); p != std::string::npos) text.erase(p, 7);
      if (!o.drop_suffix.empty()) text = mllm::without_user_suffix({{"user", text, 0}}, o.drop_suffix)[0].text;
      samples.push_back({q.type, asker.ask(v, text, 8), {c.turns[k + 1].value}});
      r.answers.push_back(answer_line(c.image, q.type, text, samples.back().prediction, samples.back().answers));
      r.answers.back()["correct"] = vqa_correct(samples.back());
    }
  }
  if (samples.empty()) throw Error("no typed questions in the split (the scenes world writes them)");
  const VqaAccuracy acc = vqa_accuracy(samples);
  nlohmann::json j = {{"accuracy", acc.overall.accuracy()}, {"questions", acc.overall.total}};
  for (const auto& [type, t] : acc.by_type)
    j["by_type"][type] = {{"accuracy", t.accuracy()}, {"correct", t.correct}, {"total", t.total}};
  r.scores = asker.finish(std::move(j));
  return r;
}

MllmEvalResult evaluate_caption(const mllm::LoadedSetokim& model, const MllmEvalOptions& o) {
  static const char* kAsk = "Describe the image briefly.";
  Asker asker(model, o);
  const data::CocoCaptions caps = data::read_coco_captions(split_file(o, "captions"));
  std::map<std::int64_t, std::vector<std::string>> refs;
  for (const auto& c : caps.captions) refs[c.image_id].push_back(c.caption);
  std::vector<std::string> cand, files;
  std::vector<std::vector<std::string>> ref;
  for (const auto& im : caps.images) {
    if (o.limit > 0 && static_cast<std::int64_t>(cand.size()) >= o.limit) break;
    if (refs[im.id].empty()) continue;
    cand.push_back(asker.ask(asker.encode(im.file_name), kAsk, 48));
    ref.push_back(refs[im.id]);
    files.push_back(im.file_name);
  }
  if (cand.empty()) throw Error("no captioned images in the split");
  const CiderResult cider = cider_d(cand, ref);
  MllmEvalResult r;
  for (std::size_t i = 0; i < cand.size(); ++i) {
    r.answers.push_back(answer_line(files[i], "caption", kAsk, cand[i], ref[i]));
    r.answers.back()["cider_d"] = cider.per_image[i];
  }
  nlohmann::json j = {{"cider_d", cider.corpus}};
  for (std::size_t i = 0; i < std::min<std::size_t>(3, cand.size()); ++i)
    j["examples"].push_back({{"generated", cand[i]}, {"reference", ref[i][0]}});
  r.scores = asker.finish(std::move(j));
  return r;
}

MllmEvalResult evaluate_pope(const mllm::LoadedSetokim& model, const MllmEvalOptions& o) {
  pope_question("object", o.pope_question);  // a bad wording fails before any image is read
  Asker asker(model, o);
  const data::CocoInstances inst = data::read_coco_instances(split_file(o, "instances"));
  std::map<std::int64_t, std::string> cat;
  for (const auto& c : inst.categories) cat[c.id] = c.name;
  std::map<std::int64_t, std::set<std::string>> present;
  for (const auto& an : inst.annotations) present[an.image_id].insert(cat[an.category_id]);
  std::mt19937_64 rng(0);  // which present and which absent object is asked about
  std::vector<std::string> answers;
  std::vector<bool> truth;
  MllmEvalResult r;
  std::int64_t n = 0;
  for (const auto& im : inst.images) {
    if (o.limit > 0 && n >= o.limit) break;
    const auto& here = present[im.id];
    std::vector<std::string> absent;
    for (const auto& [id, name] : cat)
      if (!here.count(name)) absent.push_back(name);
    if (here.empty() || absent.empty()) continue;
    ++n;
    const mllm::VisualTokens v = asker.encode(im.file_name);
    const std::vector<std::string> in(here.begin(), here.end());
    for (const auto& [name, is_there] : {std::pair<std::string, bool>{in[rng() % in.size()], true},
                                         std::pair<std::string, bool>{absent[rng() % absent.size()], false}}) {
      const std::string q = pope_question(data::category_noun(name), o.pope_question);
      answers.push_back(asker.ask(v, q, 4));
      truth.push_back(is_there);
      r.answers.push_back(answer_line(im.file_name, "pope", q, answers.back(), {is_there ? "yes" : "no"}));
      r.answers.back()["correct"] = answer_is_yes(answers.back()) == is_there;
    }
  }
  if (answers.empty()) throw Error("no image with objects in the split");
  const PopeScores p = pope_scores_from_answers(answers, truth);
  r.scores = asker.finish({{"accuracy", p.accuracy},
                           {"precision", p.precision},
                           {"recall", p.recall},
                           {"f1", p.f1},
                           {"yes_ratio", p.yes_ratio},
                           {"questions", answers.size()}});
  return r;
}

}  // namespace setok::eval
