// setok eval vqa|caption|pope -m SETOKIM --data DIR [--split NAME] [--limit N] [--answers FILE] [--drop-suffix TEXT] [--question WORDING] [--json]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "app/setok/command.h"
#include "core/data/coco.h"
#include "core/data/llava.h"
#include "core/data/vocabulary.h"
#include "core/eval/caption_metrics.h"
#include "core/eval/pope_metrics.h"
#include "core/eval/vqa_metrics.h"
#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include <c10/core/InferenceMode.h>
#include "core/llm/text_tokenizer.h"
#include "core/mllm/answer.h"
#include "core/mllm/chat_template.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Loaded {
  mllm::Setokim model{nullptr};
  std::unique_ptr<llm::TextTokenizer> tok;
};

Loaded load(const std::string& dir) {
  Loaded l;
  l.model = mllm::load_setokim(dir);
  l.tok = std::make_unique<llm::TextTokenizer>(llm::TextTokenizer::load(dir));
  return l;
}

std::string image_path(const fs::path& root, const std::string& rel) {
  for (const fs::path& p : {root / rel, root / "images" / rel})
    if (fs::exists(p)) return p.string();
  throw Error("image " + rel + " not found under " + root.string());
}

struct Stats {
  double prefill_s = 0, decode_s = 0, encode_s = 0;
  std::int64_t generated = 0, answers = 0, visual = 0, images = 0;
  nlohmann::json to_json() const {
    return {{"visual_tokens_per_image", images ? static_cast<double>(visual) / images : 0.0},
            {"prefill_ms_mean", answers ? 1000.0 * prefill_s / answers : 0.0},
            {"encode_ms_mean", images ? 1000.0 * encode_s / images : 0.0},
            {"decode_tokens_per_s", decode_s > 0 ? generated / decode_s : 0.0}};
  }
};

std::string ask(Loaded& l, const mllm::VisualTokens& v, const std::string& question, int max_tokens, Stats& st) {
  llm::SamplingOptions o;
  o.max_new_tokens = max_tokens;
  mllm::Answer a = mllm::answer(l.model, *l.tok, {v}, {{"user", question, 1}}, o);
  st.prefill_s += a.generation.prefill_seconds;
  st.decode_s += a.generation.decode_seconds;
  st.generated += static_cast<std::int64_t>(a.generation.tokens.size());
  ++st.answers;
  return a.text;
}

mllm::VisualTokens encode(Loaded& l, const std::string& path, Stats& st) {
  c10::InferenceMode g;
  const at::Tensor pixels = l.model->setok->preprocess(io::load_image(path));
  const auto t0 = std::chrono::steady_clock::now();
  mllm::VisualTokens v = l.model->encode_image(pixels);
  st.encode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.visual += v.count();
  ++st.images;
  return v;
}

std::string split_file(const std::string& data, const std::string& prefix, const std::string& split,
                       const char* ext = ".json") {
  fs::path p = fs::path(data) / "annotations" / (prefix + "_" + split + ext);
  if (!fs::exists(p)) throw Error(p.string() + ": no such split in " + data);
  return p.string();
}

void print(const Globals& g, const nlohmann::json& j) {
  if (g.json) {
    print_json(j);
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) std::printf("%-28s %s\n", it.key().c_str(), it.value().dump().c_str());
}

}  // namespace

namespace {
enum class Kind { kVqa, kCaption, kPope };

Command eval_mllm(CLI::App& app, Globals& g, Kind kind) {
  CLI::App* ev = app.get_subcommand("eval");
  struct Args {
    std::string model, data, split = "test", answers, drop_suffix, question = eval::kPopeQuestion;
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub =
      kind == Kind::kVqa
          ? ev->add_subcommand("vqa", "SeTokim VQA: exact match after normalisation, overall and per question type")
      : kind == Kind::kCaption
          ? ev->add_subcommand("caption", "SeTokim captioning: CIDEr-D against the split's reference captions")
          : ev->add_subcommand("pope", "POPE-style probe: 'Is there a …?' for one present and one absent object per image");
  sub->add_option("-m,--model", a->model, "SeTokim model folder")->required();
  sub->add_option("--data", a->data, "Dataset folder (images/ + annotations/)")->required();
  sub->add_option("--split", a->split, "Split name (default test)");
  sub->add_option("--limit", a->limit, "Use the first N images only")->check(CLI::PositiveNumber);
  sub->add_option("--answers", a->answers,
                  "Also write every question with the model's answer to FILE, one JSON object per line: image, "
                  "type, question, prediction, answers (accepted), correct (caption: cider_d)");
  if (kind == Kind::kVqa)
    sub->add_option("--drop-suffix", a->drop_suffix,
                    "Cut this text from the end of each question before asking (e.g. the world's \"Answer with a "
                    "single word or number.\"): how the model answers questions asked plainly");
  if (kind == Kind::kPope)
    sub->add_option("--question", a->question,
                    "The question's wording, {object} standing for the object's name and {a} for its article "
                    "(default \"" + std::string(eval::kPopeQuestion) + "\"): how the answers depend on the phrasing");
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto run = [&g, a, kind]() -> int {
    if (kind == Kind::kPope) eval::pope_question("object", a->question);  // a bad wording fails before loading
    if (!a->answers.empty()) {  // before the run, not after it
      const fs::path parent = fs::absolute(a->answers).parent_path();
      if (!fs::is_directory(parent)) throw Error("--answers " + a->answers + ": no folder " + parent.string());
      if (fs::is_directory(a->answers)) throw Error("--answers " + a->answers + " is a folder; name a file");
    }
    Loaded l = load(a->model);
    Stats st;
    const fs::path root(a->data);
    auto t0 = std::chrono::steady_clock::now();
    nlohmann::json j = {{"model", a->model}, {"split", a->split}};
    std::string lines;  // --answers
    if (kind == Kind::kVqa) {
      auto convs = data::read_llava(split_file(a->data, "llava", a->split));
      std::vector<eval::VqaSample> samples;
      std::vector<std::pair<std::string, std::string>> asked;  // image, question, beside samples
      std::int64_t n = 0;
      for (const auto& c : convs) {
        if (c.image.empty()) continue;
        if (a->limit > 0 && n >= a->limit) break;
        ++n;
        mllm::VisualTokens v = encode(l, image_path(root, c.image), st);
        for (std::size_t k = 0; k + 1 < c.turns.size(); ++k) {
          const auto& q = c.turns[k];
          if (q.from != "human" || q.type.empty() || c.turns[k + 1].from != "gpt") continue;
          std::string text = q.value;
          if (auto p = text.find("<image>"); p != std::string::npos) text.erase(p, 7);
          if (!a->drop_suffix.empty())
            text = mllm::without_user_suffix({{"user", text, 0}}, a->drop_suffix)[0].text;
          samples.push_back({q.type, ask(l, v, text, 8, st), {c.turns[k + 1].value}});
          asked.emplace_back(c.image, text);
        }
      }
      if (samples.empty()) throw Error("no typed questions in the split (the scenes world writes them)");
      eval::VqaAccuracy acc = eval::vqa_accuracy(samples);
      j["accuracy"] = acc.overall.accuracy();
      j["questions"] = acc.overall.total;
      for (const auto& [type, t] : acc.by_type)
        j["by_type"][type] = {{"accuracy", t.accuracy()}, {"correct", t.correct}, {"total", t.total}};
      for (std::size_t i = 0; i < samples.size(); ++i)
        lines += nlohmann::json{{"image", asked[i].first},        {"type", samples[i].question_type},
                                {"question", asked[i].second},    {"prediction", samples[i].prediction},
                                {"answers", samples[i].answers}, {"correct", eval::vqa_correct(samples[i])}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                 "\n";
    } else if (kind == Kind::kCaption) {
      data::CocoCaptions caps = data::read_coco_captions(split_file(a->data, "captions", a->split));
      std::map<std::int64_t, std::vector<std::string>> refs;
      for (const auto& c : caps.captions) refs[c.image_id].push_back(c.caption);
      std::vector<std::string> cand, files;
      std::vector<std::vector<std::string>> ref;
      for (const auto& im : caps.images) {
        if (a->limit > 0 && static_cast<std::int64_t>(cand.size()) >= a->limit) break;
        if (refs[im.id].empty()) continue;
        mllm::VisualTokens v = encode(l, image_path(root, im.file_name), st);
        cand.push_back(ask(l, v, "Describe the image briefly.", 48, st));
        ref.push_back(refs[im.id]);
        files.push_back(im.file_name);
      }
      if (cand.empty()) throw Error("no captioned images in the split");
      const eval::CiderResult cider = eval::cider_d(cand, ref);
      j["cider_d"] = cider.corpus;
      for (std::size_t i = 0; i < cand.size(); ++i)
        lines += nlohmann::json{{"image", files[i]},         {"type", "caption"},
                                {"question", "Describe the image briefly."}, {"prediction", cand[i]},
                                {"answers", ref[i]},        {"cider_d", cider.per_image[i]}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                 "\n";
      j["images"] = cand.size();
      for (std::size_t i = 0; i < std::min<std::size_t>(3, cand.size()); ++i)
        j["examples"].push_back({{"generated", cand[i]}, {"reference", ref[i][0]}});
    } else {
      data::CocoInstances inst = data::read_coco_instances(split_file(a->data, "instances", a->split));
      std::map<std::int64_t, std::string> cat;
      for (const auto& c : inst.categories) cat[c.id] = c.name;
      std::map<std::int64_t, std::set<std::string>> present;
      for (const auto& an : inst.annotations) present[an.image_id].insert(cat[an.category_id]);
      std::mt19937_64 rng(0);
      std::vector<std::string> answers, questions, images;
      std::vector<bool> truth;
      std::int64_t n = 0;
      for (const auto& im : inst.images) {
        if (a->limit > 0 && n >= a->limit) break;
        const auto& here = present[im.id];
        std::vector<std::string> absent;
        for (const auto& [id, name] : cat)
          if (!here.count(name)) absent.push_back(name);
        if (here.empty() || absent.empty()) continue;
        ++n;
        mllm::VisualTokens v = encode(l, image_path(root, im.file_name), st);
        std::vector<std::string> in(here.begin(), here.end());
        for (const auto& [name, is_there] : {std::pair<std::string, bool>{in[rng() % in.size()], true},
                                             std::pair<std::string, bool>{absent[rng() % absent.size()], false}}) {
          questions.push_back(eval::pope_question(data::category_noun(name), a->question));
          answers.push_back(ask(l, v, questions.back(), 4, st));
          truth.push_back(is_there);
          images.push_back(im.file_name);
        }
      }
      if (answers.empty()) throw Error("no image with objects in the split");
      eval::PopeScores p = eval::pope_scores_from_answers(answers, truth);
      j["accuracy"] = p.accuracy;
      j["precision"] = p.precision;
      j["recall"] = p.recall;
      j["f1"] = p.f1;
      j["yes_ratio"] = p.yes_ratio;
      j["questions"] = answers.size();
      for (std::size_t i = 0; i < answers.size(); ++i)
        lines += nlohmann::json{{"image", images[i]},
                                {"type", "pope"},
                                {"question", questions[i]},
                                {"prediction", answers[i]},
                                {"answers", {truth[i] ? "yes" : "no"}},
                                {"correct", eval::answer_is_yes(answers[i]) == truth[i]}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                 "\n";
    }
    j.update(st.to_json());
    j["images"] = st.images;
    j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!a->answers.empty()) {
      io::write_file_atomic(a->answers, lines);
      j["answers_file"] = a->answers;
    }
    print(g, j);
    return 0;
  };
  return {sub, run, true};
}
}  // namespace

Command add_eval_vqa(CLI::App& app, Globals& g) { return eval_mllm(app, g, Kind::kVqa); }
Command add_eval_caption(CLI::App& app, Globals& g) { return eval_mllm(app, g, Kind::kCaption); }
Command add_eval_pope(CLI::App& app, Globals& g) { return eval_mllm(app, g, Kind::kPope); }

}  // namespace setok::cli
