// setok train setok --config FILE [--resume DIR] [--progress jsonl|bar|none] [--set KEY=VALUE ...]
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/config_overrides.h"
#include "core/dist/run_environment.h"
#include "core/dist/world_group.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/train/memory_plan.h"
#include "core/train/mllm_trainer.h"
#include "core/train/segment_trainer.h"
#include "core/train/setok_trainer.h"

namespace setok::cli {
namespace {

// Progress as asked on rank 0 (or one process); none from the other ranks.
train::ProgressMode rank_progress(const std::string& asked) {
  return dist::is_writer() ? train::parse_progress_mode(asked) : train::ProgressMode::kNone;
}

}  // namespace

Command add_train(CLI::App& app, Globals& g) {
  auto* train = app.add_subcommand("train", "Train models; progress as JSON lines or a bar");
  train->require_subcommand(1);
  auto* sub =
      train->add_subcommand("setok", "Train the SeTok tokenizer: reconstruction + concept contrastive loss (Eq. 3)");
  struct Args {
    std::string config, resume, progress, out, data, device;
    std::int64_t steps = 0, stop_at = 0;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--config", a->config, "Training config JSON (see docs/design/setok-training.md)")->required();
  sub->add_option("--resume", a->resume, "Continue from a checkpoint folder (OUT/checkpoint)");
  sub->add_option("--progress", a->progress, "jsonl, bar or none (default: bar on a terminal, else jsonl)")
      ->check(CLI::IsMember({"jsonl", "bar", "none"}));
  sub->add_option("--out", a->out, "Output folder (overrides the config's \"out\")");
  sub->add_option("--data", a->data, "Training data folder (overrides the config's \"train_data\")");
  sub->add_option("--device", a->device, "cpu or cuda[:N] (overrides the config)");
  sub->add_option("--steps", a->steps, "Total steps (overrides the config)")->check(CLI::PositiveNumber);
  sub->add_option("--stop-at", a->stop_at, "Checkpoint and stop after this step (resume later with --resume)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--set", a->sets, "Override a config key, dotted path: --set model.merger.use_position=false")
      ->allow_extra_args(false);
  return {sub,
          [a]() {
            nlohmann::json raw = io::read_json_file(a->config);
            for (const auto& kv : a->sets) apply_override(raw, kv);
            train::SetokTrainConfig cfg = train::SetokTrainConfig::from_json(raw);
            if (!a->out.empty()) cfg.out = a->out;
            if (!a->data.empty()) cfg.train_data = a->data;
            if (!a->device.empty()) cfg.device = a->device;
            cfg.device = dist::device_for_rank(cfg.device, dist::read_run_environment());
            train::refuse_if_it_cannot_fit(raw, cfg.device);  // before anything loads
            if (a->steps > 0) cfg.steps = a->steps;
            if (a->stop_at > 0) cfg.stop_at = a->stop_at;
            if (!a->resume.empty() && !std::filesystem::is_directory(a->resume))
              throw Error(a->resume + ": no such checkpoint folder");
            dist::join_world();  // several ranks (setok launch, torchrun, srun): meet the others
            train::ProgressWriter progress(rank_progress(a->progress));
            // SIGUSR1: checkpoint after the current step and exit 0 (the studio's Pause).
            std::signal(SIGUSR1, [](int) { train::request_pause(); });
            train::TrainSummary s = train::train_setok(cfg, a->resume, progress);
            if (!dist::is_writer()) return 0;
            std::fprintf(stderr, "setok: trained %lld steps in %.0f s (%.1f images/s); model in %s\n",
                         static_cast<long long>(s.steps_done), s.seconds, s.images_per_s, s.model_dir.c_str());
            return 0;
          },
          true};
}

Command add_train_mllm(CLI::App& app, Globals& g) {
  CLI::App* train = app.get_subcommand("train");
  auto* sub = train->add_subcommand("mllm", "Train SeTokim: stage 1 (captions + text) or 2 (instructions)");
  struct Args {
    std::string config, resume, progress, out;
    int stage = 0;
    std::int64_t steps = 0, stop_at = 0;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--stage", a->stage, "1 or 2 (overrides the config)")->check(CLI::IsMember({1, 2}));
  sub->add_option("--config", a->config, "Training config JSON (core/train/mllm_trainer.h)")->required();
  sub->add_option("--resume", a->resume, "Continue from a checkpoint folder (OUT/checkpoint)");
  sub->add_option("--progress", a->progress, "jsonl, bar or none")->check(CLI::IsMember({"jsonl", "bar", "none"}));
  sub->add_option("--out", a->out, "Output folder (overrides the config)");
  sub->add_option("--steps", a->steps, "Total steps (overrides the config)")->check(CLI::PositiveNumber);
  sub->add_option("--stop-at", a->stop_at, "Checkpoint and stop after this step")->check(CLI::PositiveNumber);
  sub->add_option("--set", a->sets, "Override a config key, dotted path")->allow_extra_args(false);
  return {sub,
          [a]() {
            nlohmann::json raw = io::read_json_file(a->config);
            for (const auto& kv : a->sets) apply_override(raw, kv);
            if (a->stage) raw["stage"] = a->stage;
            if (!a->out.empty()) raw["out"] = a->out;
            if (a->steps > 0) raw["steps"] = a->steps;
            if (a->stop_at > 0) raw["stop_at"] = a->stop_at;
            train::MllmTrainConfig cfg = train::MllmTrainConfig::from_json(raw);
            cfg.device = dist::device_for_rank(cfg.device, dist::read_run_environment());
            train::refuse_if_it_cannot_fit(raw, cfg.device);  // before anything loads
            if (!a->resume.empty() && !std::filesystem::is_directory(a->resume))
              throw Error(a->resume + ": no such checkpoint folder");
            dist::join_world();
            train::ProgressWriter progress(rank_progress(a->progress));
            std::signal(SIGUSR1, [](int) { train::request_pause(); });
            train::TrainSummary s = train::train_mllm(cfg, a->resume, progress);
            if (!dist::is_writer()) return 0;
            std::fprintf(stderr, "setok: trained %lld steps in %.0f s; model in %s\n",
                         static_cast<long long>(s.steps_done), s.seconds, s.model_dir.c_str());
            return 0;
          },
          true};
}

Command add_train_segment(CLI::App& app, Globals&) {
  CLI::App* train = app.get_subcommand("train");
  auto* sub = train->add_subcommand("segment", "Train SeTokim's mask decoder (referring expressions, clicks, boxes)");
  struct Args {
    std::string config, resume, progress, out, data;
    std::int64_t steps = 0;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--config", a->config, "Training config JSON (core/train/segment_trainer.h)")->required();
  sub->add_option("--resume", a->resume, "Continue from a checkpoint folder (OUT/checkpoint)");
  sub->add_option("--progress", a->progress, "jsonl, bar or none")->check(CLI::IsMember({"jsonl", "bar", "none"}));
  sub->add_option("--out", a->out, "Output folder (overrides the config)");
  sub->add_option("--data", a->data, "Scenes folder (overrides the config's \"data\")");
  sub->add_option("--steps", a->steps, "Total steps (overrides the config)")->check(CLI::PositiveNumber);
  sub->add_option("--set", a->sets, "Override a config key, dotted path")->allow_extra_args(false);
  return {sub,
          [a]() {
            nlohmann::json raw = io::read_json_file(a->config);
            for (const auto& kv : a->sets) apply_override(raw, kv);
            if (!a->out.empty()) raw["out"] = a->out;
            if (!a->data.empty()) raw["data"] = a->data;
            if (a->steps > 0) raw["steps"] = a->steps;
            train::SegmentTrainConfig cfg = train::SegmentTrainConfig::from_json(raw);
            if (!a->resume.empty() && !std::filesystem::is_directory(a->resume))
              throw Error(a->resume + ": no such checkpoint folder");
            dist::join_world();
            train::ProgressWriter progress(rank_progress(a->progress));
            std::signal(SIGUSR1, [](int) { train::request_pause(); });
            train::TrainSummary s = train::train_segment(cfg, a->resume, progress);
            if (!dist::is_writer()) return 0;
            std::fprintf(stderr, "setok: trained %lld steps in %.0f s; model in %s\n",
                         static_cast<long long>(s.steps_done), s.seconds, s.model_dir.c_str());
            return 0;
          },
          true};
}

}  // namespace setok::cli
