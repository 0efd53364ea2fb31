#pragma once
// What a SeTokim knows, kept beside its weights as domain.json, so that chat can say when a
// question or an image is far from what it was trained on: the words of its training questions,
// and how its vision encoder's view of an image (the mean and spread of its patch features) is
// distributed over the training images, with the distance that held-out images stay under.
// Torch-free: the studio's widgets include it. The features come from mllm::domain_feature.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace setok::mllm {

struct DomainProfile {
  std::vector<float> mean, spread;  // per feature: over the training images
  double threshold = 0;             // image distance that `quantile` of held-out images stay under
  double quantile = 0.99;
  int images = 0;               // training images the statistics come from
  std::set<std::string> words;  // lower-case words of the training questions
  std::string source;           // what it was built from, for people reading the file

  bool knows_images() const { return !mean.empty() && threshold > 0; }
  // The root mean square of the feature's z-scores against the training images.
  double image_distance(const std::vector<float>& feature) const;
  bool unfamiliar_image(const std::vector<float>& feature) const;
  // The question's words that no training question used, in order, each once.
  std::vector<std::string> unknown_words(const std::string& question) const;

  nlohmann::json to_json() const;
  static DomainProfile from_json(const nlohmann::json& j);  // throws setok::Error
  // MODEL/domain.json, or nothing when the model has none (a bad one throws setok::Error).
  static std::optional<DomainProfile> load(const std::string& model_dir);
  void save(const std::string& model_dir) const;  // atomically

  // The statistics of `train` features, and the threshold from `heldout` (from `train` if empty).
  static DomainProfile from_features(const std::vector<std::vector<float>>& train,
                                     const std::vector<std::vector<float>>& heldout, double quantile);
};

// The lower-case words of a text (letters and apostrophes); "<image>" and numbers are not words.
std::vector<std::string> text_words(const std::string& text);

}  // namespace setok::mllm
