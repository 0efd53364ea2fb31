#include "core/heads/diffusion_head.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>
#include <filesystem>

#include "core/data/json_file.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"

namespace setok::heads {

nlohmann::json DiffusionHeadConfig::to_json() const {
  return {{"token_dim", token_dim},
          {"condition_dim", condition_dim},
          {"width", width},
          {"depth", depth},
          {"frequencies", frequencies},
          {"train_steps", train_steps},
          {"sample_steps", sample_steps},
          {"trained", trained}};
}

DiffusionHeadConfig DiffusionHeadConfig::from_json(const nlohmann::json& j) {
  DiffusionHeadConfig c;
  auto get = [&](const char* key, std::int64_t& v, std::int64_t lo) {
    if (!j.contains(key) || !j[key].is_number_integer()) throw Error(std::string("diffusion head: no integer ") + key);
    v = j[key].get<std::int64_t>();
    if (v < lo) throw Error(std::string("diffusion head: ") + key + " must be at least " + std::to_string(lo));
  };
  get("token_dim", c.token_dim, 1);
  get("condition_dim", c.condition_dim, 1);
  get("width", c.width, 8);
  get("depth", c.depth, 1);
  get("frequencies", c.frequencies, 2);
  get("train_steps", c.train_steps, 2);
  get("sample_steps", c.sample_steps, 1);
  if (c.frequencies % 2) throw Error("diffusion head: frequencies must be even");
  if (c.sample_steps > c.train_steps) throw Error("diffusion head: sample_steps exceeds train_steps");
  c.trained = j.value("trained", false);
  return c;
}

namespace {
torch::nn::Linear zero_linear(std::int64_t in, std::int64_t out) {
  torch::nn::Linear l(in, out);
  torch::NoGradGuard ng;
  l->weight.zero_();
  l->bias.zero_();
  return l;
}
}  // namespace

DiffusionBlockImpl::DiffusionBlockImpl(std::int64_t width) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)));
  fc1 = register_module("fc1", torch::nn::Linear(width, width));
  fc2 = register_module("fc2", torch::nn::Linear(width, width));
  modulation = register_module("modulation", zero_linear(width, 3 * width));
}

at::Tensor DiffusionBlockImpl::forward(const at::Tensor& x, const at::Tensor& y) {
  auto m = modulation->forward(at::silu(y)).chunk(3, 1);  // shift, scale, gate
  at::Tensor h = norm->forward(x) * (1 + m[1]) + m[0];
  h = fc2->forward(at::silu(fc1->forward(h)));
  return x + m[2] * h;
}

at::Tensor timestep_embedding(const at::Tensor& t, std::int64_t frequencies) {
  const std::int64_t half = frequencies / 2;
  at::Tensor f = at::exp(-std::log(10000.0) * at::arange(half, t.options().dtype(at::kFloat)) / half);
  at::Tensor a = t.to(at::kFloat).unsqueeze(1) * f.unsqueeze(0);
  return at::cat({a.cos(), a.sin()}, 1);
}

DiffusionHeadImpl::DiffusionHeadImpl(const DiffusionHeadConfig& config)
    : config_(config), schedule_(DiffusionSchedule::cosine(config.train_steps)) {
  const std::int64_t w = config.width, d = config.token_dim;
  input = register_module("input", torch::nn::Linear(d, w));
  time1 = register_module("time1", torch::nn::Linear(config.frequencies, w));
  time2 = register_module("time2", torch::nn::Linear(w, w));
  condition = register_module("condition", torch::nn::Linear(config.condition_dim, w));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.depth; ++i) blocks->push_back(DiffusionBlock(w));
  final_norm = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-6).elementwise_affine(false)));
  final_modulation = register_module("final_modulation", zero_linear(w, 2 * w));
  output = register_module("output", zero_linear(w, 2 * d));
  token_mean = register_buffer("token_mean", torch::zeros({d}));
  token_std = register_buffer("token_std", torch::ones({d}));
  token_min = register_buffer("token_min", torch::full({d}, -5.0));
  token_max = register_buffer("token_max", torch::full({d}, 5.0));
}

at::Tensor DiffusionHeadImpl::forward(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& cond) {
  if (x_t.dim() != 2 || x_t.size(1) != config_.token_dim)
    throw Error("diffusion head: tokens of " + std::to_string(x_t.size(-1)) + " numbers, expected " +
                std::to_string(config_.token_dim));
  at::Tensor te = time2->forward(at::silu(time1->forward(timestep_embedding(t, config_.frequencies).to(x_t.device()))));
  at::Tensor y = te + condition->forward(cond);
  at::Tensor x = input->forward(x_t);
  for (const auto& b : *blocks) x = b->as<DiffusionBlock>()->forward(x, y);
  auto m = final_modulation->forward(at::silu(y)).chunk(2, 1);  // shift, scale
  return output->forward(final_norm->forward(x) * (1 + m[1]) + m[0]);
}

at::Tensor DiffusionHeadImpl::normalise(const at::Tensor& tokens) const {
  return (tokens - token_mean.to(tokens.device())) / token_std.to(tokens.device());
}

at::Tensor DiffusionHeadImpl::denormalise(const at::Tensor& x) const {
  return x * token_std.to(x.device()) + token_mean.to(x.device());
}

void DiffusionHeadImpl::fit_normalisation(const at::Tensor& tokens) {
  if (tokens.dim() != 2 || tokens.size(1) != config_.token_dim || tokens.size(0) < 2)
    throw Error("diffusion head: normalisation needs at least two tokens of " + std::to_string(config_.token_dim) +
                " numbers");
  torch::NoGradGuard ng;
  at::Tensor x = tokens.to(at::kFloat);
  token_mean.copy_(x.mean(0));
  token_std.copy_(x.std(0).clamp_min(1e-3));
  token_min.copy_(std::get<0>(x.min(0)));
  token_max.copy_(std::get<0>(x.max(0)));
}

std::pair<at::Tensor, at::Tensor> DiffusionHeadImpl::normalised_bounds() const {
  at::Tensor lo = normalise(token_min), hi = normalise(token_max), pad = 0.1 * (hi - lo);
  return {lo - pad, hi + pad};
}

bool has_diffusion_head(const std::string& dir) {
  return std::filesystem::exists(std::filesystem::path(dir) / kDiffusionHeadConfigFile);
}

DiffusionHead load_diffusion_head(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path cfg = fs::path(dir) / kDiffusionHeadConfigFile, weights = fs::path(dir) / kDiffusionHeadWeightsFile;
  if (!fs::exists(cfg))
    throw Error(dir + " has no diffusion head (" + kDiffusionHeadConfigFile + "): it cannot write images");
  DiffusionHead h(DiffusionHeadConfig::from_json(data::read_json_file(cfg.string())));
  try {
    nn::load_state_dict(*h, io::load_safetensors(weights.string()));
  } catch (const Error& e) {
    throw Error(weights.string() + ": " + e.what());
  }
  h->eval();
  return h;
}

void save_diffusion_head(const std::string& dir, DiffusionHeadImpl& head) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  io::TensorMap w = nn::state_dict(head);
  for (auto& [name, t] : w) t = t.detach().to(at::kCPU, at::kFloat);
  io::save_safetensors((fs::path(dir) / kDiffusionHeadWeightsFile).string(), w);
  io::write_file_atomic((fs::path(dir) / kDiffusionHeadConfigFile).string(), head.config().to_json().dump(2) + "\n");
}

}  // namespace setok::heads
