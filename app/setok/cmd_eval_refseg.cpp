// setok eval refseg [-m SETOKIM] --data DIR [--split NAME] [--limit N] [--max-clicks N] [--no-clicks]
// [--no-language] [--no-best-token] [--no-chat] [--token-model DIR] [--per-object FILE.jsonl] [--json]
#include <cstdio>

#include "app/setok/command.h"
#include "core/eval/refseg_eval.h"
#include "core/heads/segmenter.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::cli {
namespace {

std::string figure(const nlohmann::json& v, const char* format = "%.3f") {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v.get<double>());
  return buf;
}

void print_referring(const nlohmann::json& r) {
  if (r.contains("skipped")) {
    std::printf("referring: skipped (%s)\n", r["skipped"].get<std::string>().c_str());
    return;
  }
  std::printf("%-12s %8s %7s %7s\n", "expression", "count", "cIoU", "gIoU");
  for (const char* kind : {"all", "shortest", "full", "with_region", "position"}) {
    const nlohmann::json& k = r[kind];
    if (k["count"].get<std::int64_t>() == 0 && std::string(kind) != "all") continue;
    std::printf("%-12s %8lld %7s %7s\n", kind, static_cast<long long>(k["count"].get<std::int64_t>()),
                figure(k["cIoU"]).c_str(), figure(k["gIoU"]).c_str());
  }
}

void print_table(const nlohmann::json& j) {
  std::printf("%s: %lld images, %lld refs, %lld sentences\n", j["split"].get<std::string>().c_str(),
              static_cast<long long>(j["images"].get<std::int64_t>()),
              static_cast<long long>(j["refs"].get<std::int64_t>()),
              static_cast<long long>(j["sentences"].get<std::int64_t>()));
  print_referring(j["referring"]);
  const nlohmann::json& c = j["clicks"];
  if (c.contains("skipped")) {
    std::printf("clicks: skipped (%s)\n", c["skipped"].get<std::string>().c_str());
  } else {
    std::printf("clicks: %lld objects, mIoU@1 %s, @3 %s, @5 %s, NoC@85 %s, NoC@90 %s (max %d), never 0.90: %s\n",
                static_cast<long long>(c["objects"].get<std::int64_t>()), figure(c["mIoU@1"]).c_str(),
                figure(c["mIoU@3"]).c_str(), figure(c["mIoU@5"]).c_str(), figure(c["NoC@85"], "%.2f").c_str(),
                figure(c["NoC@90"], "%.2f").c_str(), c["max_clicks"].get<int>(), figure(c["never_reach_90"]).c_str());
  }
  const nlohmann::json& b = j["best_token"];
  if (b.contains("skipped")) std::printf("best token: skipped (%s)\n", b["skipped"].get<std::string>().c_str());
  else
    std::printf("best token (%s): mIoU %s over %lld objects, %s tokens/image\n",
                b["tokenizer"]["model"].get<std::string>().c_str(), figure(b["mIoU"]).c_str(),
                static_cast<long long>(b["objects"].get<std::int64_t>()),
                figure(b["tokens_per_image"], "%.1f").c_str());
  const nlohmann::json& ch = j["chat"];
  if (ch.contains("skipped")) std::printf("chat: skipped (%s)\n", ch["skipped"].get<std::string>().c_str());
  else
    std::printf("chat: [SEG] answered to %s of %lld requests (six wordings); the masks: cIoU %s, gIoU %s\n",
                figure(ch["seg_rate"]).c_str(), static_cast<long long>(ch["asked"].get<std::int64_t>()),
                figure(ch["cIoU"]).c_str(), figure(ch["gIoU"]).c_str());
  std::printf("ms per query %s, per encode %s\n", figure(j["ms_per_query"], "%.1f").c_str(),
              figure(j["ms_per_encode"], "%.1f").c_str());
}

}  // namespace

Command add_eval_refseg(CLI::App& app, Globals& g) {
  CLI::App* ev = app.get_subcommand("eval");
  CLI::App* sub = ev->add_subcommand(
      "refseg", "Referring segmentation (cIoU, gIoU by kind of expression) and simulated clicks (mIoU@k, NoC)");
  struct Args {
    std::string model;
    bool no_clicks = false, no_language = false, no_best_token = false, no_chat = false, click_alone = false,
         no_zoom = false;
    eval::RefsegEvalOptions o;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "SeTokim folder with a mask decoder (default: the bundled SeTokim)");
  sub->add_option("--data", a->o.data_dir,
                  "Dataset folder (images/ + annotations/refs_SPLIT.json, instances_SPLIT.json)")
      ->required();
  sub->add_option("--split", a->o.split, "Split name (default test)");
  sub->add_option("--limit", a->o.limit, "Use the first N refs only")->check(CLI::PositiveNumber);
  sub->add_option("--max-clicks", a->o.max_clicks, "Clicks per object (default 20; NoC counts this when never reached)")
      ->check(CLI::Range(1, 1000));
  sub->add_flag("--no-clicks", a->no_clicks, "Skip the simulated clicks");
  sub->add_flag("--click-alone", a->click_alone,
                "The first click alone (three alternatives), not from the SeTok token under it");
  sub->add_flag("--no-zoom", a->no_zoom, "Clicks after the first see the whole image, not a crop around the mask");
  sub->add_flag("--no-language", a->no_language, "Skip the referring expressions");
  sub->add_flag("--no-best-token", a->no_best_token, "Skip the best single SeTok token per object");
  sub->add_flag("--no-chat", a->no_chat, "Skip asking each sentence in a chat ([SEG] answers and their masks)");
  sub->add_option("--token-model", a->o.token_model,
                  "SeTok model folder for the best-token figure (default: the bundled SeTok)");
  sub->add_option("--per-object", a->o.per_object,
                  "Also write one JSON line per object (area, each sentence's and each click's IoU) to this file");
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto run = [&g, a]() -> int {
    eval::RefsegEvalOptions o = a->o;
    o.clicks = !a->no_clicks;
    o.token_under_click = !a->click_alone;
    o.zoom = !a->no_zoom;
    o.language = !a->no_language;
    o.best_token = !a->no_best_token;
    o.chat = !a->no_chat;
    eval::check_refseg_split(o);  // a wrong folder fails before the model loads
    const std::string dir = a->model.empty() ? tokenizer::default_setokim_model() : a->model;
    if (dir.empty()) throw Error("no model given and no bundled SeTokim found (use -m MODEL)");
    const auto seg = heads::Segmenter::load(dir);
    nlohmann::json j = eval::evaluate_refseg(*seg, o);
    j["model"] = dir;
    j["data"] = o.data_dir;
    if (g.json) print_json(j);
    else print_table(j);
    return 0;
  };
  return {sub, run, true};
}

}  // namespace setok::cli
