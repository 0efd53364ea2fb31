// setok plan --config FILE [--set KEY=VALUE …] [--device cuda --dtype bf16] [--world-size N] [--lora R]
// [--checkpointing] [--setok-config FILE] [--json]: the memory a training run needs on each device,
// before anything is loaded (core/train/memory_plan.h).
#include <cstdio>

#include "app/setok/command.h"
#include "app/setok/config_overrides.h"
#include "core/io/checkpoint.h"
#include "core/train/memory_plan.h"

namespace setok::cli {

Command add_plan(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("plan", "The memory a training run needs on each device, from its config alone");
  struct Args {
    std::string config;
    std::vector<std::string> sets;
    train::PlanOptions o;
    int lora = -1;
    bool checkpointing = false, no_checkpointing = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--config", a->config, "A `setok train setok` or `setok train mllm` config")->required();
  sub->add_option("--set", a->sets, "Override a config key, dotted path (as setok train)");
  sub->add_option("--device", a->o.device, "cpu, cuda or cuda:N (default cpu)");
  sub->add_option("--dtype", a->o.dtype, "Activations: f32, or bf16 / f16 (autocast)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  sub->add_option("--world-size", a->o.world_size, "Data-parallel ranks (each holds the whole model)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--lora", a->lora, "LoRA rank for the language model (0: none; default: the config's)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--checkpointing", a->checkpointing, "With gradient checkpointing of the transformer blocks");
  sub->add_flag("--no-checkpointing", a->no_checkpointing, "Without it (default: the config's)");
  sub->add_option("--setok-config", a->o.setok_config,
                  "For a SeTokim config whose setok_model is not trained yet: that SeTok's training config");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub, [&g, a]() {
            nlohmann::json raw = io::read_json_file(a->config);
            for (const auto& kv : a->sets) apply_override(raw, kv);
            a->o.lora_rank = a->lora;
            a->o.checkpointing = a->checkpointing ? 1 : a->no_checkpointing ? 0 : -1;
            const train::MemoryPlan p = train::plan_training(raw, a->o);
            if (g.json) print_json(p.to_json());
            else std::printf("%s training, %s\n%s", p.kind.c_str(), a->config.c_str(), p.table().c_str());
            return p.fits() ? 0 : 1;
          }};
}

}  // namespace setok::cli
