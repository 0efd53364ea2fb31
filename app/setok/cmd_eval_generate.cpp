// setok eval generate: GenEval-style accuracy of SeTokim's pictures (core/eval/generation_eval.h),
// and setok train judge: the object judge that scores them (core/train/judge_trainer.h).
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/writer_options.h"
#include "core/dist/world_group.h"
#include "core/eval/generation_eval.h"
#include "core/eval/object_judge.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/judge_trainer.h"

namespace fs = std::filesystem;

namespace setok::cli {

Command add_eval_generate(CLI::App& app, Globals& g) {
  CLI::App* sub = app.get_subcommand("eval")->add_subcommand(
      "generate", "Pictures drawn from prompts, judged: GenEval-style accuracy, objects found and in place");
  auto o = std::make_shared<eval::GenerationEvalOptions>();
  sub->add_option("-m,--model", o->model, "SeTokim folder with a diffusion head (default: the bundled SeTokim)");
  sub->add_option("--data", o->data, "Scenes folder (annotations/prompts_SPLIT.jsonl, instances_SPLIT.json)")
      ->required();
  sub->add_option("--split", o->split, "Split name (default test)");
  sub->add_option("--limit", o->limit, "The first N prompts only")->check(CLI::PositiveNumber);
  sub->add_option("--judge", o->judge, "Object judge folder (default: the bundled judge-small)");
  sub->add_option("--out", o->out, "Also write every picture drawn here");
  sub->add_flag("--teacher-forced", o->teacher_forced,
                "Also draw each picture reading the true earlier tokens (the head's fidelity apart from drift)");
  add_writing_options(sub, o->writing);
  sub->add_option("--seeds", o->seeds, "Also draw each prompt with the next N-1 seeds: diversity across seeds")
      ->check(CLI::Range(1, 64));
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, o]() {
            eval::GenerationEvalOptions opt = *o;
            resolve_judged_models(opt.model, opt.judge, opt.setok, opt.data);
            const nlohmann::json r = eval::evaluate_generation(opt, print_progress);
            std::fprintf(stderr, "\n");
            if (g.json) {
              print_json(r);
            } else {
              for (const char* k : {"generated", "reference_pictures", "reference_through_tokens"})
                std::printf("%-26s accuracy %.3f  objects found %.3f  in place %.3f  (%lld pictures)\n", k,
                            r[k]["accuracy"].get<double>(), r[k]["objects_found"].get<double>(),
                            r[k]["objects_in_place"].get<double>(), static_cast<long long>(r[k]["pictures"]));
              std::printf("%.0f ms a picture, %.2f tokens, %.0f%% ended by the model\n",
                          r["ms_per_picture"].get<double>(), r["tokens_per_picture"].get<double>(),
                          100 * r["finished_share"].get<double>());
            }
            return 0;
          },
          true};
}

Command add_train_judge(CLI::App& app, Globals& g) {
  CLI::App* sub = app.get_subcommand("train")->add_subcommand(
      "judge", "Train the object judge that scores generated and edited pictures (class and colour of a region)");
  struct Args {
    std::string data, split = "train", val_data, val_split = "test";
    train::JudgeTrainConfig c;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--data", a->data, "Scenes folder to learn from")->required();
  sub->add_option("--split", a->split, "Its split (default train)");
  sub->add_option("--val-data", a->val_data, "Scenes folder to score on (default: --data)");
  sub->add_option("--val-split", a->val_split, "Its split (default test)");
  sub->add_option("--out", a->c.out, "Output folder")->required();
  sub->add_option("--steps", a->c.steps, "Steps (default 1500)")->check(CLI::PositiveNumber);
  sub->add_option("--max-images", a->c.max_images, "Images per split at most (default 3000)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->c.seed, "Seed");
  sub->add_option("--regions-from", a->c.regions_from,
                  "Also learn from this SeTok's token regions of each picture (what eval generate shows the judge)");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a]() {
            auto inst = [](const std::string& d, const std::string& s) {
              const fs::path p = fs::path(d) / "annotations" / ("instances_" + s + ".json");
              if (!fs::exists(p)) throw Error(p.string() + ": no such file");
              return p.string();
            };
            a->c.train_instances = inst(a->data, a->split);
            a->c.val_instances = inst(a->val_data.empty() ? a->data : a->val_data, a->val_split);
            dist::join_world();  // several ranks (setok launch, torchrun, srun)
            const nlohmann::json m = train::train_judge(a->c);
            if (!dist::is_writer()) return 0;
            if (g.json) print_json(m);
            else
              std::printf("%s: held out class %.3f, colour %.3f, both %.3f, no object %.3f\n", a->c.out.c_str(),
                          m["held_out"]["class_top1"].get<double>(), m["held_out"]["colour_top1"].get<double>(),
                          m["held_out"]["both_top1"].get<double>(), m["held_out"]["no_object_top1"].get<double>());
            return 0;
          },
          true};
}

}  // namespace setok::cli
