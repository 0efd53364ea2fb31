// setok train setok --config FILE [--resume DIR] [--progress jsonl|bar|none]
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/train/setok_trainer.h"

namespace setok::cli {

Command add_train(CLI::App& app, Globals& g) {
  auto* train = app.add_subcommand("train", "Train models; progress as JSON lines or a bar");
  train->require_subcommand(1);
  auto* sub = train->add_subcommand("setok", "Train the SeTok tokenizer: reconstruction + concept contrastive loss (Eq. 3)");
  struct Args {
    std::string config, resume, progress, out, data, device;
    std::int64_t steps = 0, stop_at = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--config", a->config, "Training config JSON (see docs/training.md)")->required();
  sub->add_option("--resume", a->resume, "Continue from a checkpoint folder (OUT/checkpoint)");
  sub->add_option("--progress", a->progress, "jsonl, bar or none (default: bar on a terminal, else jsonl)")
      ->check(CLI::IsMember({"jsonl", "bar", "none"}));
  sub->add_option("--out", a->out, "Output folder (overrides the config's \"out\")");
  sub->add_option("--data", a->data, "Training data folder (overrides the config's \"train_data\")");
  sub->add_option("--device", a->device, "cpu or cuda[:N] (overrides the config)");
  sub->add_option("--steps", a->steps, "Total steps (overrides the config)")->check(CLI::PositiveNumber);
  sub->add_option("--stop-at", a->stop_at, "Checkpoint and stop after this step (resume later with --resume)")
      ->check(CLI::PositiveNumber);
  return {sub, [a]() {
    train::SetokTrainConfig cfg = train::SetokTrainConfig::from_json(io::read_json_file(a->config));
    if (!a->out.empty()) cfg.out = a->out;
    if (!a->data.empty()) cfg.train_data = a->data;
    if (!a->device.empty()) cfg.device = a->device;
    if (a->steps > 0) cfg.steps = a->steps;
    if (a->stop_at > 0) cfg.stop_at = a->stop_at;
    if (!a->resume.empty() && !std::filesystem::is_directory(a->resume))
      throw Error(a->resume + ": no such checkpoint folder");
    train::ProgressWriter progress(train::parse_progress_mode(a->progress));
    // SIGUSR1: checkpoint after the current step and exit 0 (the studio's Pause).
    std::signal(SIGUSR1, [](int) { train::request_pause(); });
    train::TrainSummary s = train::train_setok(cfg, a->resume, progress);
    std::fprintf(stderr, "setok: trained %lld steps in %.0f s (%.1f images/s); model in %s\n",
                 static_cast<long long>(s.steps_done), s.seconds, s.images_per_s, s.model_dir.c_str());
    return 0;
  }, true};
}

}  // namespace setok::cli
