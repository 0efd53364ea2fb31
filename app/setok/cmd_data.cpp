// setok data scenes --out DIR --count N ...: the scenes world written as standard dataset files.
// setok data pack --data DIR --out FILE.safetensors: a dataset prepared for SeTok in one file.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "app/setok/command.h"
#include "core/data/scene_render.h"
#include "core/data/scenes_writer.h"
#include "core/data/setok_data.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::cli {

Command add_data(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("data", "Generate datasets (the scenes world)");
  sub->require_subcommand(1);
  auto* scenes = sub->add_subcommand(
      "scenes", "Images of shapes and Fashion-MNIST items with masks, captions, QA, refs and edits");
  struct Args {
    std::string out, split = "train";
    std::int64_t count = 0, start = 0;
    std::uint64_t seed = 0;
    int size = 128, threads = 0, position_questions = 1, where_questions = 0;
    bool no_edits = false;
  };
  auto a = std::make_shared<Args>();
  scenes->add_option("--out", a->out, "Output folder (images/, edits/, annotations/)")->required();
  scenes->add_option("--count", a->count, "Number of images")->required()->check(CLI::PositiveNumber);
  scenes->add_option("--seed", a->seed, "Seed of the world (default 0)");
  scenes->add_option("--split", a->split, "train, val, test or compositional (default train)")
      ->check(CLI::IsMember({"train", "val", "test", "compositional"}));
  scenes->add_option("--size", a->size, "Image side in pixels (default 128)")->check(CLI::Range(32, 4096));
  scenes->add_option("--start", a->start, "First index (default 0): write a split in shards")
      ->check(CLI::NonNegativeNumber);
  scenes->add_option("--threads", a->threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  scenes
      ->add_option("--position-questions", a->position_questions,
                   "Relative-position questions per image, at most (default 1; more are appended last)")
      ->check(CLI::Range(0, 15));
  scenes
      ->add_option("--where-questions", a->where_questions,
                   "\"Where is the red star?\" questions per image, at most (default 0; appended last)")
      ->check(CLI::Range(0, 6));
  scenes->add_flag("--no-edits", a->no_edits, "Skip the edit triplets (4 fewer renders per image)");
  scenes->footer(
      "Needs Debian's dataset-fashion-mnist and opencv-doc and the unpacked python3-skimage photos\n"
      "(packaging/install-deps.sh), or SETOK_ASSETS_DIR. Progress goes to stderr; with --json a summary\n"
      "goes to stdout. The same seed, split and index always give the same image. See docs/design/scenes.md.");
  return {scenes, [a, &g]() {
            if (!data::scenes_available())
              throw Error(
                  "setok data scenes is unavailable: this build has no OpenCV (configure with -DSETOK_WITH_OPENCV=ON)");
            data::ScenesWriteOptions o;
            o.out = a->out;
            o.count = a->count;
            o.start = a->start;
            o.scene.px = a->size;
            o.scene.seed = a->seed;
            o.scene.split = data::parse_split(a->split);
            o.scene.edits = !a->no_edits;
            o.scene.position_questions = a->position_questions;
            o.scene.where_questions = a->where_questions;
            o.threads =
                a->threads > 0 ? a->threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
            const bool tty = ::isatty(2);
            std::int64_t last_tenth = -1;
            o.progress = [&](std::int64_t done, std::int64_t total) {
              if (tty) {
                std::fprintf(stderr, "\rscenes: %lld/%lld images", static_cast<long long>(done),
                             static_cast<long long>(total));
              } else if (done * 10 / total != last_tenth) {  // logs get a line per tenth, not a flood
                last_tenth = done * 10 / total;
                std::fprintf(stderr, "scenes: %lld/%lld images\n", static_cast<long long>(done),
                             static_cast<long long>(total));
              }
              return true;
            };
            const data::ScenesWriteResult r = data::write_scenes(o);
            if (tty) std::fprintf(stderr, "\n");
            const double rate = r.seconds > 0 ? r.images / r.seconds : 0;
            if (g.json) {
              print_json({{"out", a->out},
                          {"split", a->split},
                          {"seed", a->seed},
                          {"size", a->size},
                          {"images", r.images},
                          {"objects", r.objects},
                          {"refs", r.refs},
                          {"questions", r.questions},
                          {"edits", r.edits},
                          {"seconds", r.seconds},
                          {"images_per_second", rate},
                          {"threads", o.threads}});
            } else {
              std::printf(
                  "%lld images, %lld objects, %lld refs, %lld questions, %lld edits in %.1f s (%.1f images/s, %d "
                  "threads) -> %s\n",
                  static_cast<long long>(r.images), static_cast<long long>(r.objects), static_cast<long long>(r.refs),
                  static_cast<long long>(r.questions), static_cast<long long>(r.edits), r.seconds, rate, o.threads,
                  a->out.c_str());
            }
            return 0;
          }};
}

Command add_data_pack(CLI::App& app, Globals& g) {
  auto* pack = app.get_subcommand("data")->add_subcommand(
      "pack", "Pack a dataset, prepared for SeTok, into one .safetensors file (no image decoding when training)");
  struct Args {
    std::string data, split, out, model;
    int size = 0, patch = 0;
    std::size_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  pack->add_option("--data", a->data, "Dataset folder (images/ + annotations/instances_*.json)")->required();
  pack->add_option("--split", a->split, "Use annotations/instances_SPLIT.json");
  pack->add_option("--out", a->out, "Output file (.safetensors)")->required();
  pack->add_option("-m,--model", a->model,
                   "Prepare for this model's image and patch size (default: the bundled model)");
  pack->add_option("--size", a->size, "Image side in pixels (instead of a model's)")->check(CLI::Range(8, 4096));
  pack->add_option("--patch", a->patch, "Patch side in pixels (instead of a model's)")->check(CLI::Range(1, 512));
  pack->add_option("--limit", a->limit, "Pack the first N images only")->check(CLI::PositiveNumber);
  pack->add_flag("--json", g.json, "Machine-readable output");
  return {pack, [a, &g]() {
            if (std::filesystem::path(a->out).extension() != ".safetensors")
              throw Error(a->out + ": the packed file must end in .safetensors");
            int size = a->size, patch = a->patch;
            if (size == 0 || patch == 0) {
              const std::string dir = a->model.empty() ? tokenizer::default_setok_model() : a->model;
              if (dir.empty()) throw Error("no model to take the image and patch size from (give --size and --patch)");
              const auto vc = tokenizer::load_setok(dir)->config().vision;
              if (size == 0) size = static_cast<int>(vc.image_size);
              if (patch == 0) patch = static_cast<int>(vc.patch_size);
            }
            if (size % patch != 0)
              throw Error("--size " + std::to_string(size) + " is not a multiple of --patch " + std::to_string(patch));
            std::string data = a->data;
            if (!a->split.empty()) {
              data = (std::filesystem::path(a->data) / "annotations" / ("instances_" + a->split + ".json")).string();
              if (!std::filesystem::exists(data)) throw Error(data + ": no such split in " + a->data);
            }
            auto ds = train::open_coco_dataset(data, size, patch);
            const train::PackSummary r = train::pack_dataset(*ds, a->out, size, patch, a->limit);
            if (g.json) {
              print_json({{"out", a->out},
                          {"images", r.images},
                          {"objects", r.objects},
                          {"bytes", r.bytes},
                          {"image_size", size},
                          {"patch_size", patch}});
            } else {
              std::printf("%zu images, %zu objects at %d px / %d px patches -> %s (%s)\n", r.images, r.objects, size,
                          patch, a->out.c_str(), human_bytes(r.bytes).c_str());
            }
            return 0;
          }};
}

}  // namespace setok::cli
