// setok data scenes --out DIR --count N ...: the scenes world written as standard dataset files.
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "app/setok/command.h"
#include "core/data/scene_render.h"
#include "core/data/scenes_writer.h"
#include "core/runtime/error.h"

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
    int size = 128, threads = 0;
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
  scenes->add_flag("--no-edits", a->no_edits, "Skip the edit triplets (4 fewer renders per image)");
  scenes->footer(
      "Needs Debian's dataset-fashion-mnist and opencv-doc and the unpacked python3-skimage photos\n"
      "(packaging/install-deps.sh), or SETOK_ASSETS_DIR. Progress goes to stderr; with --json a summary\n"
      "goes to stdout. The same seed, split and index always give the same image. See docs/design/scenes.md.");
  return {sub, [a, &g]() {
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

}  // namespace setok::cli
