#pragma once
// The judge of generated and edited pictures (docs/design/metrics.md): a small CNN, trained on the
// scenes world's object crops, that names what a region of a picture shows — one of the world's
// classes or "no object" — and its colour. It judges pixels, not tokens: the regions it is shown
// are SeTok's tokens of the picture itself, at pixel edges (core/eval/picture_objects.h).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace setok::eval {

struct ObjectJudgeConfig {
  std::vector<std::string> classes;  // the world's class names; index classes.size() is "no object"
  std::vector<std::string> colours;
  std::int64_t crop = 32;   // side of the square crop it reads
  std::int64_t width = 32;  // channels of the first convolution (×2, ×4 after)
  bool trained = false;

  std::int64_t none() const { return static_cast<std::int64_t>(classes.size()); }
  nlohmann::json to_json() const;
  static ObjectJudgeConfig from_json(const nlohmann::json& j);  // throws setok::Error
  static ObjectJudgeConfig scenes_world();                      // the world's 18 classes, 8 colours
};

struct JudgeLogits {
  at::Tensor cls, colour;  // [N, classes + 1], [N, colours]
};

class ObjectJudgeImpl : public torch::nn::Module {
 public:
  explicit ObjectJudgeImpl(const ObjectJudgeConfig& config);
  // crops [N, 4, crop, crop]: RGB in [0, 1] and the region's mask (judge_crop).
  JudgeLogits forward(const at::Tensor& crops);
  const ObjectJudgeConfig& config() const { return config_; }
  void set_trained(bool t) { config_.trained = t; }
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear hidden{nullptr}, cls{nullptr}, colour{nullptr};

 private:
  ObjectJudgeConfig config_;
};
TORCH_MODULE(ObjectJudge);

// The crop the judge reads of a region: its bounding box made square with a quarter of margin,
// resized to `size`: [4, size, size], the picture's RGB (image01 [3, H, W] in [0, 1]) and the
// region's mask (mask [H, W] bool) as a fourth channel. Throws setok::Error for an empty mask.
at::Tensor judge_crop(const at::Tensor& image01, const at::Tensor& mask, std::int64_t size);

// judge.json + judge.safetensors in a folder. Throws setok::Error naming what is wrong.
ObjectJudge load_object_judge(const std::string& dir);
void save_object_judge(const std::string& dir, ObjectJudgeImpl& judge);
// The bundled judge (resources/models/judge-small), or "" when there is none.
std::string default_judge_model();

}  // namespace setok::eval
