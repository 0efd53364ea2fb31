#include "core/tokenizer/setok_model.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"

namespace fs = std::filesystem;

namespace setok::tokenizer {

SetokModelImpl::SetokModelImpl(const SetokConfig& config) : config_(config) {
  config_.validate();
  // "vision_model" makes the encoder's tensors carry HuggingFace's SigLIP names.
  encoder = register_module("vision_model", vision::SiglipVisionEncoder(config_.vision));
  TokenClusterOptions co;
  co.params = config_.cluster;
  co.learnable_bandwidth = config_.learnable_bandwidth;
  cluster = register_module("cluster", TokenCluster(co));
  merger = register_module("merger", TokenMerger(config_.merger));
  detokenizer = register_module("detokenizer", Detokenizer(config_.detokenizer));
}

Tokenized SetokModelImpl::tokenize(const at::Tensor& pixels, ClusterParams params,
                                   const BeforeCluster& before_cluster) {
  Tokenized t;
  vision::PatchFeatures pf = encoder->patch_features(pixels);
  t.features = pf.features;
  t.grid_h = pf.grid_h;
  t.grid_w = pf.grid_w;
  if (before_cluster) before_cluster(t.features, params);
  t.clusters = cluster->forward(t.features, params);
  t.tokens = merger->forward(t.features, t.clusters.masks, t.clusters.token_valid, t.grid_h, t.grid_w);
  return t;
}

at::Tensor SetokModelImpl::reconstruct(const at::Tensor& tokens, const at::Tensor& token_valid, at::Tensor* mask_logits,
                                       const at::Tensor& regions) {
  return detokenizer->forward(tokens, token_valid, mask_logits, regions);
}

at::Tensor SetokModelImpl::reconstruct(const at::Tensor& pixels, const Tokenized& t, at::Tensor* mask_logits) {
  return detokenizer->forward(t.tokens, t.clusters.token_valid, mask_logits, regions(pixels, t));
}

at::Tensor SetokModelImpl::regions(const at::Tensor& pixels, const Tokenized& t) const {
  const auto& o = detokenizer->options;
  if (!o.regions()) return {};
  at::NoGradGuard ng;
  const int64_t b = t.tokens.size(0), c = t.tokens.size(1);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < b; ++i) {
    at::Tensor valid = t.clusters.token_valid[i].to(at::kBool);
    at::Tensor assign = t.clusters.masks[i].masked_fill(at::logical_not(valid).unsqueeze(0), -1).argmax(1);
    out.push_back(token_geometry(pixels[i], assign, c, t.grid_h, t.grid_w, static_cast<int>(o.region_appearance())));
  }
  return at::stack(out).to(t.tokens.device(), at::kFloat);
}

at::Tensor SetokModelImpl::preprocess(const io::Image& img) const {
  return vision::SiglipVisionEncoderImpl::preprocess(img, config_.vision.image_size);
}

SetokModel load_setok(const std::string& dir) {
  io::Checkpoint ck = io::load_checkpoint(dir);
  SetokConfig cfg = SetokConfig::from_json(ck.config);
  SetokModel m(cfg);
  try {
    nn::load_state_dict(*m, ck.tensors);
  } catch (const Error& e) {
    throw Error(dir + ": " + e.what());
  }
  m->eval();
  return m;
}

void save_setok(const std::string& dir, SetokModel& model) {
  io::save_checkpoint(dir, model->config().to_json(), nn::state_dict(*model));
}

std::string bundled_models_dir() {
  if (const char* env = std::getenv("SETOK_MODELS_DIR"); env && *env) return env;
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    fs::path share = fs::path(exe).parent_path().parent_path() / "share" / "setok" / "models";
    if (fs::is_directory(share)) return share.string();
  }
#ifdef SETOK_SOURCE_MODELS_DIR
  if (fs::is_directory(SETOK_SOURCE_MODELS_DIR)) return SETOK_SOURCE_MODELS_DIR;
#endif
  return "";
}

namespace {
std::string bundled_model(const char* name) {
  const std::string d = bundled_models_dir();
  if (d.empty()) return "";
  const fs::path p = fs::path(d) / name;
  return fs::exists(p / "config.json") ? p.string() : "";
}
}  // namespace

std::string default_setok_model() { return bundled_model("setok-small"); }
std::string default_setokim_model() { return bundled_model("setokim-small"); }

}  // namespace setok::tokenizer
