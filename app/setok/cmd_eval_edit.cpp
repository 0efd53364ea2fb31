// setok eval edit: SeTokim's edits against the world's exact targets (core/eval/edit_eval.h).
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/writer_options.h"
#include "core/eval/edit_eval.h"
#include "core/eval/object_judge.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace fs = std::filesystem;

namespace setok::cli {

Command add_eval_edit(CLI::App& app, Globals& g) {
  CLI::App* sub = app.get_subcommand("eval")->add_subcommand(
      "edit", "Edits scored against exact targets: L1/L2, inside and outside the edit, success by the judge");
  auto o = std::make_shared<eval::EditEvalOptions>();
  sub->add_option("-m,--model", o->model, "SeTokim folder trained to edit (default: the bundled SeTokim)");
  sub->add_option("--data", o->data, "Scenes folder (annotations/edits_SPLIT.jsonl)")->required();
  sub->add_option("--split", o->split, "Split name (default test)");
  sub->add_option("--limit", o->limit, "The first N edits only")->check(CLI::PositiveNumber);
  sub->add_option("--judge", o->judge, "Object judge folder (default: the bundled judge-small)");
  sub->add_option("--out", o->out, "Also write every edited picture here");
  add_writing_options(sub, o->editing.writing);
  auto no_baselines = std::make_shared<bool>(false);
  sub->add_flag("--no-baselines", *no_baselines, "Skip the identity edit, regenerate-all and the tokens' ceiling");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, o, no_baselines]() {
            eval::EditEvalOptions opt = *o;
            opt.baselines = !*no_baselines;
            resolve_judged_models(opt.model, opt.judge, opt.setok, opt.data);
            const nlohmann::json r = eval::evaluate_editing(opt, print_progress);
            std::fprintf(stderr, "\n");
            if (g.json) {
              print_json(r);
              return 0;
            }
            for (const char* k : {"edit", "identity", "regenerate_all", "target_through_tokens"}) {
              if (!r.contains(k)) continue;
              const auto& t = r[k];
              std::printf("%-22s success %.3f  L1 %.4f  L2 %.4f  L1 inside %.4f  outside %.4f  (%lld edits)\n", k,
                          t["success"].get<double>(), t["l1"].get<double>(), t["l2"].get<double>(),
                          t["l1_inside"].get<double>(), t["l1_outside"].get<double>(),
                          static_cast<long long>(t["edits"]));
            }
            std::printf("%.0f ms an edit, %.0f%% of tokens kept, %.2f written\n", r["ms_per_edit"].get<double>(),
                        100 * r["tokens_kept"].get<double>(), r["tokens_written_per_edit"].get<double>());
            return 0;
          },
          true};
}

}  // namespace setok::cli
