// setok domain -m SETOKIM --data DIR [--split train] [--heldout-split val] [--check-split test]
//              [--limit N] [--config CFG …] [--image IMG …] [--json]
// Writes the model's domain profile (domain.json): what its training questions say and what its
// training images look like to it, so that chat can say when a question or an image is far from
// them. --image only measures images against the profile the model already has.
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/io/image.h"
#include "core/mllm/domain_build.h"
#include "core/mllm/domain_feature.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {

namespace {

int measure_images(const std::string& model_dir, const std::vector<std::string>& images, bool json) {
  const auto profile = mllm::DomainProfile::load(model_dir);
  if (!profile || !profile->knows_images())
    throw Error(model_dir + ": no domain profile (run setok domain with --data)");
  mllm::Setokim model = mllm::load_setokim(model_dir);
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& path : images) {
    const double d = profile->image_distance(mllm::domain_feature(model, io::load_image(path)));
    const bool unfamiliar = d > profile->threshold;
    out.push_back({{"image", path}, {"distance", d}, {"threshold", profile->threshold}, {"unfamiliar", unfamiliar}});
    if (!json)
      std::printf("%s: distance %.2f (threshold %.2f): %s\n", path.c_str(), d, profile->threshold,
                  unfamiliar ? "unfamiliar" : "familiar");
  }
  if (json) print_json(out);
  return 0;
}

}  // namespace

Command add_domain(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("domain",
                                 "Write a SeTokim's domain profile (domain.json) from its training data, "
                                 "or measure images against it");
  struct Args {
    std::string model;
    mllm::DomainBuildOptions o;
    std::vector<std::string> images;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "SeTokim folder")->required();
  sub->add_option("--data", a->o.data, "Folder with annotations/llava_SPLIT.json and the images it names");
  sub->add_option("--split", a->o.split, "The training conversations (default train)");
  sub->add_option("--heldout-split", a->o.heldout_split, "Images that set the threshold (default val)");
  sub->add_option("--check-split", a->o.check_split,
                  "Images on which the false-alarm share is measured (default test)");
  sub->add_option("--limit", a->o.limit, "Images per split at most (default 2000)")->check(CLI::PositiveNumber);
  sub->add_option("--config", a->o.configs, "Training configs whose question_rewrites' words the model also learned");
  sub->add_option("--image", a->images, "Only measure these images against the model's profile");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a]() {
            if (!fs::exists(fs::path(a->model) / "config.json")) throw Error(a->model + ": not a model folder");
            if (!a->images.empty()) return measure_images(a->model, a->images, g.json);
            if (a->o.data.empty()) throw Error("--data is required to build a profile (or give --image to measure)");
            mllm::Setokim model = mllm::load_setokim(a->model);
            const mllm::DomainBuildReport r = mllm::build_domain_profile(model, a->o);
            r.profile.save(a->model);
            const nlohmann::json j = {{"profile", (fs::path(a->model) / "domain.json").string()},
                                      {"images", r.profile.images},
                                      {"questions", r.questions},
                                      {"words", r.profile.words.size()},
                                      {"threshold", r.profile.threshold},
                                      {"heldout_images", r.heldout_images},
                                      {"check_images", r.check_images},
                                      {"check_flagged", r.check_flagged}};
            if (g.json) {
              print_json(j);
            } else {
              std::printf("%s: %d images, %d questions (%zu words); threshold %.3f; %.1f %% of %d %s images flagged\n",
                          j["profile"].get<std::string>().c_str(), r.profile.images, r.questions,
                          r.profile.words.size(), r.profile.threshold, 100 * r.check_flagged, r.check_images,
                          a->o.check_split.c_str());
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
