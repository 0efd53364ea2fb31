#include "core/mllm/domain_build.h"

#include <filesystem>

#include "core/data/llava.h"
#include "core/io/checkpoint.h"
#include "core/io/image.h"
#include "core/mllm/domain_feature.h"
#include "core/mllm/referring_wording.h"
#include "core/runtime/error.h"

namespace setok::mllm {

namespace fs = std::filesystem;

namespace {

std::string image_path(const fs::path& root, const std::string& rel) {
  for (const fs::path& p : {root / rel, root / "images" / rel})
    if (fs::exists(p)) return p.string();
  throw Error("image " + rel + " not found under " + root.string());
}

// The features of the first `limit` distinct images a conversations file names.
std::vector<std::vector<float>> split_features(Setokim& model, const fs::path& root,
                                               const std::vector<data::LlavaConversation>& convs, int limit) {
  std::vector<std::vector<float>> out;
  std::string last;
  for (const auto& c : convs) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (c.image.empty() || c.image == last) continue;
    last = c.image;
    out.push_back(domain_feature(model, io::load_image(image_path(root, c.image))));
  }
  return out;
}

void add_config_words(const std::string& path, std::set<std::string>& words) {
  const nlohmann::json j = io::read_json_file(path);
  if (j.value("referring_rate", 0.0) > 0)  // its requests' wordings (the expressions are the refs')
    for (const std::string& w : referring_wordings())
      for (const std::string& x : text_words(w)) words.insert(x);
  if (!j.contains("question_rewrites")) return;
  for (const auto& r : j.at("question_rewrites"))
    for (const auto& to : r.value("to", std::vector<std::string>()))
      for (const std::string& w : text_words(to)) words.insert(w);
}

}  // namespace

DomainBuildReport build_domain_profile(Setokim& model, const DomainBuildOptions& o) {
  const fs::path root(o.data);
  const fs::path file = root / "annotations" / ("llava_" + o.split + ".json");
  if (!fs::exists(file)) throw Error(file.string() + ": no conversations for split '" + o.split + "'");
  const std::vector<data::LlavaConversation> train = data::read_llava(file.string());
  DomainBuildReport r;
  std::set<std::string> words;
  for (const auto& c : train)
    for (const auto& t : c.turns)
      if (t.from == "human") {
        ++r.questions;
        for (const std::string& w : text_words(t.value)) words.insert(w);
      }
  for (const std::string& cfg : o.configs) add_config_words(cfg, words);
  const auto train_f = split_features(model, root, train, o.limit);
  if (train_f.empty()) throw Error(file.string() + ": no images");
  std::vector<std::vector<float>> held;
  const fs::path held_file = root / "annotations" / ("llava_" + o.heldout_split + ".json");
  if (!o.heldout_split.empty() && fs::exists(held_file))
    held = split_features(model, root, data::read_llava(held_file.string()), o.limit);
  r.profile = DomainProfile::from_features(train_f, held, o.quantile);
  r.profile.words = std::move(words);
  r.profile.source = o.split + " split of " + root.filename().string() + " (" + std::to_string(train_f.size()) +
                     " images, " + std::to_string(r.questions) + " questions); threshold from " +
                     (held.empty() ? o.split : o.heldout_split) + " images";
  r.heldout_images = static_cast<int>(held.size());
  const fs::path check_file = root / "annotations" / ("llava_" + o.check_split + ".json");
  if (!o.check_split.empty() && fs::exists(check_file)) {
    const auto check = split_features(model, root, data::read_llava(check_file.string()), o.limit);
    int flagged = 0;
    for (const auto& f : check) flagged += r.profile.unfamiliar_image(f);
    r.check_images = static_cast<int>(check.size());
    r.check_flagged = check.empty() ? 0.0 : static_cast<double>(flagged) / static_cast<double>(check.size());
  }
  return r;
}

}  // namespace setok::mllm
