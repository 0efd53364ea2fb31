// setok eval setok -m MODEL --data DIR [--split NAME] [--limit N] [clustering flags] [--json]
// setok calibrate -m MODEL --data DIR [--split val] [--limit N] [--islands 0,2,...] [--min-region-patches 0,2,...]
// [--edge-passes 0,1,...] [--dry-run] [--json]
#include <cstdio>
#include <filesystem>

#include "app/setok/cluster_flags.h"
#include "app/setok/command.h"
#include "core/eval/setok_calibrate.h"
#include "core/eval/setok_eval.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::cli {

Command add_eval(CLI::App& app, Globals& g) {
  auto* ev = app.add_subcommand("eval", "Evaluate models on held-out data");
  ev->require_subcommand(1);
  auto* sub = ev->add_subcommand("setok", "Token grouping (FG-ARI, mIoU), token counts, reconstruction, concept top-1");
  struct Args {
    std::string model, data, split;
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "SeTok model folder (default: the bundled model)");
  sub->add_option("--data", a->data, "Dataset folder (images/ + annotations/instances_*.json) or a packed .safetensors")
      ->required();
  sub->add_option("--split", a->split, "Use annotations/instances_SPLIT.json");
  sub->add_option("--limit", a->limit, "Evaluate the first N images only")->check(CLI::PositiveNumber);
  sub->add_flag("--json", g.json, "Machine-readable output");
  // The model's clustering settings, overridden for this run only (the model is not rewritten).
  auto flags = add_cluster_flags(sub);
  return {sub,
          [&g, a, flags, sub]() {
            std::string dir = a->model.empty() ? tokenizer::default_setok_model() : a->model;
            if (dir.empty()) throw Error("no model given and no bundled SeTok model found (use -m MODEL)");
            tokenizer::SetokModel model = tokenizer::load_setok(dir);
            const tokenizer::ClusterParams cluster = flags->resolve(model->config().cluster, *sub);
            std::string data = a->data;
            if (!a->split.empty()) {
              data = (std::filesystem::path(a->data) / "annotations" / ("instances_" + a->split + ".json")).string();
              if (!std::filesystem::exists(data)) throw Error(data + ": no such split in " + a->data);
            }
            const auto& vc = model->config().vision;
            auto ds = train::open_setok_dataset(data, static_cast<int>(vc.image_size), static_cast<int>(vc.patch_size));
            eval::SetokEvalOptions o;
            o.limit = a->limit;
            o.cluster = cluster;
            nlohmann::json j = eval::evaluate_setok(model, dir, *ds, o);
            j["model"] = dir;
            j["data"] = data;
            j["cluster"] = cluster;
            if (g.json) {
              print_json(j);
            } else {
              for (auto it = j.begin(); it != j.end(); ++it)
                std::printf("%-40s %s\n", it.key().c_str(), it.value().dump().c_str());
            }
            return 0;
          },
          true};
}

Command add_calibrate(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand(
      "calibrate",
      "Choose a trained SeTok's clustering bandwidth and beta on a validation split and write them to the model");
  struct Args {
    std::string model, data, split = "val";
    std::int64_t limit = 0;
    bool dry_run = false;
    std::vector<int> islands, smalls, edges;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "SeTok model folder (rewritten in place unless --dry-run)")->required();
  sub->add_option("--data", a->data, "Dataset folder (images/ + annotations/instances_*.json) or a packed .safetensors")
      ->required();
  sub->add_option("--split", a->split, "Validation split: annotations/instances_SPLIT.json (default val)");
  sub->add_option("--limit", a->limit, "Use the first N images only")->check(CLI::PositiveNumber);
  sub->add_option("--islands", a->islands,
                  "Also try these split_islands values (0 = off; e.g. 0,2,3,4,6,8); default: keep the model's")
      ->delimiter(',')
      ->check(CLI::Range(0, 4096));
  sub->add_option("--min-region-patches", a->smalls,
                  "Also try these min_region_patches values (0 = off; e.g. 0,2,3); default: keep the model's")
      ->delimiter(',')
      ->check(CLI::Range(0, 4096));
  sub->add_option("--edge-passes", a->edges,
                  "Also try these edge_passes values (0 = off; e.g. 0,1,2,4,8); default: keep the model's")
      ->delimiter(',')
      ->check(CLI::Range(0, 64));
  sub->add_flag("--dry-run", a->dry_run, "Report the choice, change nothing");
  sub->add_flag("--json", g.json, "Machine-readable output (with the whole grid)");
  return {
      sub,
      [&g, a]() {
        tokenizer::SetokModel model = tokenizer::load_setok(a->model);
        std::string data = a->data;
        if (std::filesystem::path(data).extension() != ".safetensors") {
          data = (std::filesystem::path(a->data) / "annotations" / ("instances_" + a->split + ".json")).string();
          if (!std::filesystem::exists(data)) throw Error(data + ": no such split in " + a->data);
        }
        const auto& vc = model->config().vision;
        auto ds = train::open_setok_dataset(data, static_cast<int>(vc.image_size), static_cast<int>(vc.patch_size));
        eval::CalibrationOptions o;
        o.limit = a->limit;
        o.islands = a->islands;
        o.min_region_patches = a->smalls;
        o.edge_passes = a->edges;
        eval::Calibration c = eval::calibrate_clustering(model, *ds, o);
        if (!a->dry_run)
          eval::write_clustering(a->model, c.bandwidth, c.beta, a->islands.empty() ? -1 : c.islands,
                                 a->smalls.empty() ? -1 : c.min_region_patches, a->edges.empty() ? -1 : c.edge_passes);
        nlohmann::json j = {
            {"model", a->model},
            {"data", data},
            {"bandwidth", c.bandwidth},
            {"beta", c.beta},
            {"split_islands", c.islands},
            {"min_region_patches", c.min_region_patches},
            {"edge_passes", c.edge_passes},
            {"fg_ari", c.fg_ari},
            {"tokens_within_one_of_objects_plus_one", c.within_one},
            {"tokens_per_image", c.tokens_per_image},
            {"before", {{"fg_ari", c.before_fg_ari}, {"tokens_within_one_of_objects_plus_one", c.before_within_one}}},
            {"written", !a->dry_run}};
        if (g.json) {
          j["grid"] = c.table;
          print_json(j);
        } else {
          if (!a->islands.empty()) std::printf("split_islands %d, ", c.islands);
          if (!a->smalls.empty()) std::printf("min_region_patches %d, ", c.min_region_patches);
          if (!a->edges.empty()) std::printf("edge_passes %d, ", c.edge_passes);
          std::printf(
              "bandwidth %.3g, beta %.3g: FG-ARI %.3f (was %.3f), tokens within one of objects+1 %.3f (was %.3f), %.2f "
              "tokens/image%s\n",
              c.bandwidth, c.beta, c.fg_ari, c.before_fg_ari, c.within_one, c.before_within_one, c.tokens_per_image,
              a->dry_run ? " (dry run: not written)" : "");
        }
        return 0;
      },
      true};
}

}  // namespace setok::cli
