// setok eval vqa|caption|pope -m SETOKIM --data DIR [--split NAME] [--limit N] [--answers FILE] [--drop-suffix TEXT]
// [--question WORDING] [--json]
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/eval/mllm_eval.h"
#include "core/eval/pope_metrics.h"
#include "core/io/atomic_file.h"
#include "core/mllm/loaded_setokim.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

void print(const Globals& g, const nlohmann::json& j) {
  if (g.json) {
    print_json(j);
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) std::printf("%-28s %s\n", it.key().c_str(), it.value().dump().c_str());
}

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
          : ev->add_subcommand("pope",
                               "POPE-style probe: 'Is there a …?' for one present and one absent object per image");
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
                    "(default \"" +
                        std::string(eval::kPopeQuestion) + "\"): how the answers depend on the phrasing");
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto run = [&g, a, kind]() -> int {
    if (kind == Kind::kPope) eval::pope_question("object", a->question);  // a bad wording fails before loading
    if (!a->answers.empty()) {                                            // before the run, not after it
      const fs::path parent = fs::absolute(a->answers).parent_path();
      if (!fs::is_directory(parent)) throw Error("--answers " + a->answers + ": no folder " + parent.string());
      if (fs::is_directory(a->answers)) throw Error("--answers " + a->answers + " is a folder; name a file");
    }
    const auto model = mllm::LoadedSetokim::load(a->model);
    eval::MllmEvalOptions o;
    o.data = a->data;
    o.split = a->split;
    o.limit = a->limit;
    o.drop_suffix = a->drop_suffix;
    o.pope_question = a->question;
    const eval::MllmEvalResult r = kind == Kind::kVqa       ? eval::evaluate_vqa(*model, o)
                                   : kind == Kind::kCaption ? eval::evaluate_caption(*model, o)
                                                            : eval::evaluate_pope(*model, o);
    nlohmann::json j = r.scores;
    j["model"] = a->model;
    j["split"] = a->split;
    if (!a->answers.empty()) {
      std::string lines;
      for (const auto& line : r.answers)
        lines += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
