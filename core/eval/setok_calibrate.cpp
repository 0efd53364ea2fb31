#include "core/eval/setok_calibrate.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <filesystem>

#include "core/eval/label_maps.h"
#include "core/eval/segmentation_metrics.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

struct Cached {
  at::Tensor features;  // [B,N,D]
  int64_t grid_h = 0, grid_w = 0;
  std::vector<at::Tensor> truth;  // per image [S*S] instance ids
  std::vector<int64_t> objects;
  std::vector<io::Image> images;  // 8-bit, for the pixel-edge masks
};

struct Score {
  double fg_ari = 0, within_one = 0, tokens = 0, fg_ari_refined = 0;
};

Score score_settings(tokenizer::SetokModel& model, const tokenizer::ClusterParams& params,
                     const std::vector<Cached>& cache, int S) {
  std::vector<double> ari, refined;
  std::vector<int64_t> tokens, objects;
  for (const auto& c : cache) {
    tokenizer::ClusterResult r = model->cluster->forward(c.features, params);
    for (int64_t i = 0; i < c.features.size(0); ++i) {
      at::Tensor valid = r.token_valid[i];
      at::Tensor assign = r.masks[i].masked_fill(~valid.unsqueeze(0), -1).argmax(1);
      const at::Tensor& truth = c.truth[static_cast<std::size_t>(i)];
      double a = foreground_ari(truth, patch_labels(assign, c.grid_h, c.grid_w, S));
      if (std::isfinite(a)) ari.push_back(a);
      double ar =
          foreground_ari(truth, pixel_edge_labels(c.images[static_cast<std::size_t>(i)], assign, c.grid_h, c.grid_w));
      if (std::isfinite(ar)) refined.push_back(ar);
      tokens.push_back(r.num_tokens[i].item<int64_t>());
      objects.push_back(c.objects[static_cast<std::size_t>(i)]);
    }
  }
  Score s;
  for (double a : ari) s.fg_ari += a;
  s.fg_ari = ari.empty() ? 0.0 : s.fg_ari / static_cast<double>(ari.size());
  s.within_one = token_count_agreement(tokens, objects).within_one;
  for (double a : refined) s.fg_ari_refined += a;
  s.fg_ari_refined = refined.empty() ? 0.0 : s.fg_ari_refined / static_cast<double>(refined.size());
  for (auto t : tokens) s.tokens += static_cast<double>(t);
  s.tokens = tokens.empty() ? 0.0 : s.tokens / static_cast<double>(tokens.size());
  return s;
}

}  // namespace

tokenizer::ClusterParams with_clustering(tokenizer::ClusterParams p, double bandwidth, double beta, int islands,
                                         int min_patches, int edge_passes) {
  if (!(bandwidth > 0) || !std::isfinite(bandwidth)) throw Error("bandwidth must be a positive number");
  if (!(beta >= 0) || !std::isfinite(beta)) throw Error("beta must be a number >= 0");
  if (islands > 4096) throw Error("split_islands must be between 0 (off) and 4096 patches");
  if (min_patches > 4096) throw Error("min_region_patches must be between 0 (off) and 4096 patches");
  if (edge_passes > 64) throw Error("edge_passes must be between 0 (off) and 64");
  p.bandwidth = static_cast<float>(bandwidth);
  p.beta = static_cast<float>(beta);
  if (islands >= 0) p.split_islands = islands;
  if (min_patches >= 0) p.min_region_patches = min_patches;
  if (edge_passes >= 0) p.edge_passes = edge_passes;
  return p;
}

Calibration calibrate_clustering(tokenizer::SetokModel& model, const train::SetokDataset& val,
                                 const CalibrationOptions& o) {
  if (o.bandwidths.empty() || o.betas.empty()) throw Error("calibration grid is empty");
  c10::InferenceMode guard;
  model->eval();
  const int S = static_cast<int>(model->config().vision.image_size);
  const std::int64_t n = o.limit > 0 ? std::min<std::int64_t>(o.limit, val.size()) : val.size();
  if (n < 1) throw Error("calibration split has no images");
  std::vector<Cached> cache;
  for (std::int64_t start = 0; start < n; start += o.batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, start + o.batch_size);
    Cached c;
    std::vector<at::Tensor> px;
    for (std::int64_t i = start; i < end; ++i) {
      train::SetokSample s = val.get(static_cast<std::size_t>(i));
      px.push_back(s.pixels);
      c.truth.push_back(s.instance_map.reshape({S * S}));
      c.objects.push_back(static_cast<int64_t>(s.labels.size()));
      c.images.push_back(to_image(s.pixels));
    }
    vision::PatchFeatures pf = model->encoder->patch_features(at::stack(px));
    c.features = pf.features;
    c.grid_h = pf.grid_h;
    c.grid_w = pf.grid_w;
    cache.push_back(std::move(c));
  }
  const tokenizer::ClusterParams& saved = model->config().cluster;
  Calibration best;
  {
    Score s = score_settings(model, saved, cache, S);
    best.before_fg_ari = s.fg_ari;
    best.before_within_one = s.within_one;
  }
  double best_score = -1;
  best.table = nlohmann::json::array();
  // The clean-up settings to try, in the order the grid reports them (the model's own where the
  // options name none); σ and β are searched under each.
  struct Tidy {
    int islands, small, edges;
  };
  const auto or_own = [](const std::vector<int>& tried, int own) {
    return tried.empty() ? std::vector<int>{own} : tried;
  };
  std::vector<Tidy> tidies;
  for (int isl : or_own(o.islands, saved.split_islands))
    for (int small : or_own(o.min_region_patches, saved.min_region_patches))
      for (int edge : or_own(o.edge_passes, saved.edge_passes)) tidies.push_back({isl, small, edge});
  for (const Tidy& t : tidies) {
    for (double beta : o.betas) {
      for (double bw : o.bandwidths) {
        const tokenizer::ClusterParams tried = with_clustering(saved, bw, beta, t.islands, t.small, t.edges);
        Score s = score_settings(model, tried, cache, S);
        const double score = s.fg_ari + s.within_one;
        nlohmann::json row = {{"bandwidth", bw},
                              {"beta", beta},
                              {"fg_ari", s.fg_ari},
                              {"within_one", s.within_one},
                              {"fg_ari_refined", s.fg_ari_refined},
                              {"tokens_per_image", s.tokens}};
        if (!o.islands.empty()) row["split_islands"] = t.islands;
        if (!o.min_region_patches.empty()) row["min_region_patches"] = t.small;
        if (!o.edge_passes.empty()) row["edge_passes"] = t.edges;
        best.table.push_back(std::move(row));
        if (score > best_score) {
          best_score = score;
          best.bandwidth = bw;
          best.beta = beta;
          best.islands = t.islands;
          best.min_region_patches = t.small;
          best.edge_passes = t.edges;
          best.fg_ari = s.fg_ari;
          best.within_one = s.within_one;
          best.tokens_per_image = s.tokens;
        }
      }
    }
  }
  return best;
}

void write_clustering(const std::string& model_dir, double bandwidth, double beta, int islands, int min_patches,
                      int edge_passes) {
  const fs::path cfg_path = fs::path(model_dir) / "config.json";
  if (!fs::exists(cfg_path)) throw Error(model_dir + ": no config.json");
  nlohmann::json cfg = io::read_json_file(cfg_path.string());
  if (!cfg.contains("cluster") || !cfg["cluster"].is_object())
    throw Error(model_dir + ": config.json has no cluster section");
  io::TensorMap w = io::load_weights(model_dir);
  auto it = w.find("cluster.log_bandwidth");
  if (it != w.end()) {
    at::Tensor t = at::full_like(it->second, std::log(bandwidth));
    it->second = t;
  }
  cfg["cluster"]["bandwidth"] = bandwidth;
  cfg["cluster"]["beta"] = beta;
  if (islands > 0) cfg["cluster"]["split_islands"] = islands;
  if (islands == 0) cfg["cluster"].erase("split_islands");
  if (min_patches > 0) cfg["cluster"]["min_region_patches"] = min_patches;
  if (min_patches == 0) cfg["cluster"].erase("min_region_patches");
  if (edge_passes > 0) cfg["cluster"]["edge_passes"] = edge_passes;
  if (edge_passes == 0) cfg["cluster"].erase("edge_passes");
  io::save_checkpoint(model_dir, cfg, w);
}

Calibration calibrate_model_folder(const std::string& model_dir, const std::string& val_data) {
  tokenizer::SetokModel model = tokenizer::load_setok(model_dir);
  const auto& vc = model->config().vision;
  auto val = train::open_setok_dataset(val_data, static_cast<int>(vc.image_size), static_cast<int>(vc.patch_size));
  const Calibration c = calibrate_clustering(model, *val, CalibrationOptions());
  write_clustering(model_dir, c.bandwidth, c.beta);
  return c;
}

}  // namespace setok::eval
