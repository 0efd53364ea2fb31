#include "core/engine/setok_lane.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <numeric>

#include "core/engine/job_support.h"
#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_set.h"

namespace setok::engine {

using detail::Clock;
using detail::deliver;
using detail::fail;
using detail::ms_since;
using detail::stage_check;

namespace {

std::vector<std::int32_t> to_vector_i32(const at::Tensor& t) {
  at::Tensor c = t.to(at::kInt).contiguous();
  return {c.data_ptr<std::int32_t>(), c.data_ptr<std::int32_t>() + c.numel()};
}

std::vector<float> to_vector_f32(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

bool same_image(const io::Image& a, const io::Image& b) {
  return a.width == b.width && a.height == b.height && a.rgb == b.rgb;
}

}  // namespace

struct SetokLane::State {
  std::string model_dir;
  float overlay_opacity = 0.5f;
  tokenizer::SetokModel model{nullptr};
  std::string model_name;
  bool trained = false;
  io::Image cached_image;
  at::Tensor cached_features;
  std::int64_t grid_h = 0, grid_w = 0;

  void ensure_model(Timings& ms) {
    if (model) return;
    auto t0 = Clock::now();
    std::string dir = model_dir.empty() ? tokenizer::default_setok_model() : model_dir;
    if (dir.empty()) {
      // No trained model is bundled yet: a fixed-seed random one shows the pipeline (as
      // `setok tokenize` does), and the result says it is untrained.
      at::manual_seed(0);
      model = tokenizer::SetokModel(tokenizer::SetokConfig::small());
      model->eval();
      model_name = "random-init small model (untrained)";
    } else {
      model = tokenizer::load_setok(dir);
      model_name = dir;
    }
    trained = model->config().trained;
    ms.load_model_ms = ms_since(t0);
  }

  const at::Tensor& features_for(const io::Image& img, Timings& ms) {
    if (cached_features.defined() && same_image(img, cached_image)) return cached_features;
    if (img.empty()) throw Error("the image is empty");
    auto t0 = Clock::now();
    cached_features = at::Tensor();
    vision::PatchFeatures pf = model->encoder->patch_features(model->preprocess(img));
    cached_features = pf.features;
    grid_h = pf.grid_h;
    grid_w = pf.grid_w;
    cached_image = img;
    ms.encode_ms = ms_since(t0);
    return cached_features;
  }

  // The stages both requests share: model, features, Token Cluster. Returns the cluster result.
  tokenizer::ClusterResult cluster(const io::Image& img, const std::optional<tokenizer::ClusterParams>& p,
                                   tokenizer::ClusterParams* used, Timings& ms,
                                   const std::function<void(float)>& stage) {
    stage(0.0f);
    ensure_model(ms);
    stage(0.15f);
    const at::Tensor& x = features_for(img, ms);
    stage(0.6f);
    tokenizer::ClusterParams params = p.value_or(model->config().cluster);
    params.validate();
    auto t0 = Clock::now();
    tokenizer::ClusterResult r = model->cluster->forward(x, params);
    ms.cluster_ms = ms_since(t0);
    *used = params;
    stage(0.8f);
    return r;
  }

  // The tokens' statistics and seeds, for the inspector.
  void describe_tokens(TokenizeResult& r, const tokenizer::ClusterResult& cr, int c) const {
    std::vector<std::int32_t> seeds = to_vector_i32(cr.seeds[0].narrow(0, 0, c));
    std::vector<tokenizer::TokenStat> stats = tokenizer::token_stats(r.map, r.width, r.height, c);
    std::vector<double> dsum(c, 0.0);
    std::vector<int> dn(c, 0);
    for (std::size_t i = 0; i < r.grid.size(); ++i) dsum[r.grid[i]] += r.density[i], ++dn[r.grid[i]];
    r.tokens.resize(c);
    for (int t = 0; t < c; ++t) {
      TokenInfo& ti = r.tokens[t];
      ti.stat = stats[t];
      ti.seed_patch = seeds[t];
      ti.seed_score = seeds[t] >= 0 ? r.score[seeds[t]] : 0.0f;
      ti.density = dn[t] ? static_cast<float>(dsum[t] / dn[t]) : 0.0f;
    }
  }

  // The merger and the tokens' region descriptors make the token set; the detokenizer draws the
  // set alone.
  void token_set(TokenizeResult& r, const io::Image& image, const tokenizer::ClusterResult& cr, bool draw) {
    auto t0 = Clock::now();
    const at::Tensor pixels = model->preprocess(image);
    tokenizer::Tokenized t;
    t.features = cached_features;
    t.grid_h = grid_h;
    t.grid_w = grid_w;
    t.clusters = cr;
    t.tokens = model->merger->forward(t.features, cr.masks, cr.token_valid, grid_h, grid_w);
    auto set = std::make_shared<tokenizer::TokenSet>(tokenizer::make_token_set(*model, pixels, t));
    if (draw) {
      const at::Tensor recon = tokenizer::draw_token_set(*model, *set).clamp(-1, 1);
      r.reconstruction = eval::to_image(recon[0]);
      r.reconstruction_psnr_db = eval::psnr((recon + 1) / 2, (pixels + 1) / 2)[0].item<double>();
    }
    r.token_set = std::move(set);
    r.ms.reconstruct_ms = ms_since(t0);
  }
};

SetokLane::SetokLane(std::string model_dir, float overlay_opacity) : s_(std::make_unique<State>()) {
  s_->model_dir = std::move(model_dir);
  s_->overlay_opacity = overlay_opacity;
}

SetokLane::~SetokLane() = default;

void SetokLane::use_model(std::string dir) {
  release();
  s_->model_dir = std::move(dir);
}

void SetokLane::release() {
  s_->cached_features = at::Tensor();
  s_->cached_image = {};
  s_->model = tokenizer::SetokModel(nullptr);
}

void SetokLane::tokenize(WorkerLane::Job& job, TokenizeRequest& req, const Done<TokenizeResult>& done,
                         const Progress& progress) {
  TokenizeResult r;
  r.id = req.id;
  if (job.superseded) {
    r.status = Status::kSuperseded;
    return deliver(done, std::move(r));
  }
  auto t0 = Clock::now();
  auto stage = stage_check(job, progress);
  State& s = *s_;
  fail(r, [&] {
    tokenizer::ClusterResult cr = s.cluster(req.image, req.params, &r.params, r.ms, stage);
    auto t1 = Clock::now();
    const int c = static_cast<int>(cr.num_tokens[0].item<std::int64_t>());
    r.grid_h = static_cast<int>(s.grid_h);
    r.grid_w = static_cast<int>(s.grid_w);
    r.grid = to_vector_i32(cr.masks[0].narrow(1, 0, c).argmax(1));
    r.density = to_vector_f32(cr.density[0]);
    r.score = to_vector_f32(cr.score[0]);
    r.width = req.image.width;
    r.height = req.image.height;
    r.pixel_edges = req.pixel_edges;
    r.map = req.pixel_edges ? tokenizer::refine_token_map(req.image, r.grid, r.grid_h, r.grid_w)
                            : tokenizer::upsample_token_map(r.grid, r.grid_h, r.grid_w, r.width, r.height);
    stage(0.9f);
    s.describe_tokens(r, cr, c);
    r.ms.post_ms = ms_since(t1);
    if (req.reconstruct || req.token_set) {
      stage(0.92f);
      s.token_set(r, req.image, cr, req.reconstruct);
    }
    r.model_name = s.model_name;
    r.trained = s.trained;
    stage(1.0f);
  });
  r.ms.total_ms = ms_since(t0);
  if (!r.ok()) {  // a failed or cancelled result carries no half-filled maps
    TokenizeResult e;
    e.id = r.id, e.status = r.status, e.error = r.error, e.ms = r.ms;
    r = std::move(e);
  }
  deliver(done, std::move(r));
}

void SetokLane::compare(WorkerLane::Job& job, ClusterCompareRequest& req, const Done<ClusterCompareResult>& done,
                        const Progress& progress) {
  ClusterCompareResult r;
  r.id = req.id;
  if (job.superseded) {
    r.status = Status::kSuperseded;
    return deliver(done, std::move(r));
  }
  auto t0 = Clock::now();
  auto stage = stage_check(job, progress);
  State& s = *s_;
  fail(r, [&] {
    if (req.patch_cells < 1) throw Error("the patch grid needs at least one cell");
    tokenizer::ClusterParams used;
    tokenizer::ClusterResult cr = s.cluster(req.image, req.params, &used, r.ms, stage);
    auto t1 = Clock::now();
    const int c = static_cast<int>(cr.num_tokens[0].item<std::int64_t>());
    const int gh = static_cast<int>(s.grid_h), gw = static_cast<int>(s.grid_w);
    const int w = req.image.width, h = req.image.height;
    r.width = w, r.height = h, r.tokens = c;
    // Both groupings of patches as the inspector draws them: whole patches, or pixel edges.
    auto to_map = [&](const std::vector<std::int32_t>& grid) {
      return req.pixel_edges ? tokenizer::refine_token_map(req.image, grid, gh, gw)
                             : tokenizer::upsample_token_map(grid, gh, gw, w, h);
    };
    r.setok_map = to_map(to_vector_i32(cr.masks[0].narrow(1, 0, c).argmax(1)));
    std::vector<std::int32_t> cells(static_cast<std::size_t>(req.patch_cells) * req.patch_cells);
    std::iota(cells.begin(), cells.end(), 0);
    r.patch_map = tokenizer::upsample_token_map(cells, req.patch_cells, req.patch_cells, w, h);
    stage(0.85f);
    // Fixed K = SeTok's own count, so the two differ only in how they choose the groups.
    at::Tensor fixed = tokenizer::dpc_knn(s.cached_features, c, used.knn);
    r.fixed_k_map = to_map(to_vector_i32(fixed[0]));
    stage(0.9f);
    const float op = s.overlay_opacity;
    r.setok_overlay = tokenizer::render_overlay(req.image, r.setok_map, op, true);
    r.patch_overlay = tokenizer::render_overlay(req.image, r.patch_map, op, true);
    r.fixed_k_overlay = tokenizer::render_overlay(req.image, r.fixed_k_map, op, true);
    r.ms.post_ms = ms_since(t1);
    r.model_name = s.model_name;
    r.trained = s.trained;
    stage(1.0f);
  });
  r.ms.total_ms = ms_since(t0);
  if (!r.ok()) {
    ClusterCompareResult e;
    e.id = r.id, e.status = r.status, e.error = r.error, e.ms = r.ms;
    r = std::move(e);
  }
  deliver(done, std::move(r));
}

tokenizer::ClusterParams model_cluster_params(const std::string& model_dir) {
  const std::string dir = model_dir.empty() ? tokenizer::default_setok_model() : model_dir;
  if (dir.empty()) return tokenizer::SetokConfig::small().cluster;  // as ensure_model's fallback
  return tokenizer::SetokConfig::from_json(io::read_json_file((std::filesystem::path(dir) / "config.json").string()))
      .cluster;
}

}  // namespace setok::engine
