#include "core/eval/object_judge.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/data/json_file.h"
#include "core/data/vocabulary.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::eval {

nlohmann::json ObjectJudgeConfig::to_json() const {
  return {{"model_type", "object_judge"},
          {"classes", classes},
          {"colours", colours},
          {"crop", crop},
          {"width", width},
          {"trained", trained}};
}

ObjectJudgeConfig ObjectJudgeConfig::from_json(const nlohmann::json& j) {
  if (j.value("model_type", "") != "object_judge") throw Error("not an object judge (model_type)");
  ObjectJudgeConfig c;
  try {
    c.classes = j.at("classes").get<std::vector<std::string>>();
    c.colours = j.at("colours").get<std::vector<std::string>>();
    c.crop = j.at("crop").get<std::int64_t>();
    c.width = j.at("width").get<std::int64_t>();
    c.trained = j.value("trained", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("object judge config: ") + e.what());
  }
  if (c.classes.empty() || c.colours.empty() || c.crop < 8 || c.crop % 8 || c.width < 4)
    throw Error("object judge config: classes, colours, crop (a multiple of 8) and width are needed");
  return c;
}

ObjectJudgeConfig ObjectJudgeConfig::scenes_world() {
  ObjectJudgeConfig c;
  for (int i = 0; i < data::kNumClasses; ++i) c.classes.push_back(data::class_name(i));
  for (int i = 0; i < data::kNumColours; ++i) c.colours.push_back(data::colour_name(i));
  return c;
}

ObjectJudgeImpl::ObjectJudgeImpl(const ObjectJudgeConfig& config) : config_(config) {
  namespace nn = torch::nn;
  const std::int64_t w = config.width;
  nn::Sequential f;
  for (auto [in, out] : {std::pair{std::int64_t{4}, w}, std::pair{w, 2 * w}, std::pair{2 * w, 4 * w}}) {
    f->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
    f->push_back(nn::BatchNorm2d(out));
    f->push_back(nn::ReLU());
    f->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  }
  features = register_module("features", f);
  const std::int64_t side = config.crop / 8;
  hidden = register_module("hidden", nn::Linear(4 * w * side * side, 8 * w));
  cls = register_module("cls", nn::Linear(8 * w, config.none() + 1));
  colour = register_module("colour", nn::Linear(8 * w, static_cast<std::int64_t>(config.colours.size())));
}

JudgeLogits ObjectJudgeImpl::forward(const at::Tensor& crops) {
  at::Tensor h = at::relu(hidden->forward(features->forward(crops).flatten(1)));
  return {cls->forward(h), colour->forward(h)};
}

at::Tensor judge_crop(const at::Tensor& image01, const at::Tensor& mask, std::int64_t size) {
  at::Tensor nz = mask.nonzero();
  if (nz.size(0) == 0) throw Error("judge_crop: the region is empty");
  const std::int64_t h = mask.size(0), w = mask.size(1);
  const double y0 = nz.select(1, 0).min().item<std::int64_t>(), y1 = nz.select(1, 0).max().item<std::int64_t>() + 1;
  const double x0 = nz.select(1, 1).min().item<std::int64_t>(), x1 = nz.select(1, 1).max().item<std::int64_t>() + 1;
  const double side = std::max(y1 - y0, x1 - x0) * 1.25 + 2, cy = (y0 + y1) / 2, cx = (x0 + x1) / 2;
  // The square box as an affine grid over the whole picture (zeros outside it).
  at::Tensor theta = at::zeros({1, 2, 3});
  theta[0][0][0] = side / w;
  theta[0][0][2] = 2 * cx / w - 1;
  theta[0][1][1] = side / h;
  theta[0][1][2] = 2 * cy / h - 1;
  at::Tensor grid = at::affine_grid_generator(theta, {1, 4, size, size}, false);
  at::Tensor src = at::cat({image01.to(at::kFloat), mask.to(at::kFloat).unsqueeze(0)}, 0).unsqueeze(0);
  return at::grid_sampler(src, grid, /*bilinear*/ 0, /*zeros*/ 0, false)[0];
}

ObjectJudge load_object_judge(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path cfg = fs::path(dir) / "judge.json", weights = fs::path(dir) / "judge.safetensors";
  if (!fs::exists(cfg)) throw Error(dir + ": no object judge (judge.json); train one with `setok train judge`");
  ObjectJudge j(ObjectJudgeConfig::from_json(data::read_json_file(cfg.string())));
  try {
    nn::load_state_dict(*j, io::load_safetensors(weights.string()));
  } catch (const Error& e) {
    throw Error(weights.string() + ": " + e.what());
  }
  j->eval();
  return j;
}

void save_object_judge(const std::string& dir, ObjectJudgeImpl& judge) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  io::TensorMap w = nn::state_dict(judge);
  for (auto& [name, t] : w) t = t.detach().to(at::kCPU);
  io::save_safetensors((fs::path(dir) / "judge.safetensors").string(), w);
  io::write_file_atomic((fs::path(dir) / "judge.json").string(), judge.config().to_json().dump(2) + "\n");
}

std::string default_judge_model() {
  const std::string d = tokenizer::bundled_models_dir();
  if (d.empty()) return "";
  const auto p = std::filesystem::path(d) / "judge-small";
  return std::filesystem::exists(p / "judge.json") ? p.string() : "";
}

}  // namespace setok::eval
