#include "core/engine/engine.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <numeric>
#include <thread>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/setok_model.h"

namespace setok::engine {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Cancelled {};

enum class Kind { kTokenize, kCompare };

std::string first_line(std::string s) {
  if (auto n = s.find('\n'); n != std::string::npos) s.resize(n);
  return s;
}

std::vector<std::int32_t> to_vector_i32(const at::Tensor& t) {
  at::Tensor c = t.to(at::kInt).contiguous();
  return {c.data_ptr<std::int32_t>(), c.data_ptr<std::int32_t>() + c.numel()};
}

std::vector<float> to_vector_f32(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

const char* to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kCancelled:
      return "cancelled";
    case Status::kSuperseded:
      return "superseded";
    case Status::kError:
      return "error";
  }
  return "?";
}

struct Engine::Impl {
  struct Job {
    Ticket ticket = 0;
    Kind kind = Kind::kTokenize;
    bool supersede = false;
    std::atomic<bool> cancel{false};
    std::atomic<bool> superseded{false};
    // Runs the request (or, when cancelled/superseded before it started, only reports that);
    // always delivers exactly one result.
    std::function<void(Job&)> run;
  };

  EngineOptions options;
  mutable std::mutex mu;
  std::condition_variable cv, idle_cv;
  std::deque<std::shared_ptr<Job>> queue;
  std::shared_ptr<Job> running;
  bool stopping = false;
  Ticket next_ticket = 1;
  std::thread worker;

  // Worker-thread state: the model and the last image's patch features (re-clustering the same
  // image with new parameters skips the encoder, which is what makes live parameter drags fast).
  tokenizer::SetokModel model{nullptr};
  std::string model_name;
  bool trained = false;
  io::Image cached_image;
  at::Tensor cached_features;
  std::int64_t grid_h = 0, grid_w = 0;

  explicit Impl(EngineOptions o) : options(std::move(o)) {
    worker = std::thread([this] { loop(); });
  }

  void loop() {
#if defined(__linux__)
    // A lower priority for this thread and the OpenMP threads it starts (they inherit it): on a
    // machine with few cores the GUI thread must still get the CPU the moment it needs it.
    if (options.background_priority) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
    // Grad mode and inference mode are thread-local: set here, where the model code runs.
    c10::InferenceMode inference;
    torch::NoGradGuard no_grad;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) break;  // stopping, and everything delivered
        job = queue.front();
        queue.pop_front();
        running = job;
      }
      job->run(*job);
      {
        std::lock_guard<std::mutex> lock(mu);
        running.reset();
      }
      idle_cv.notify_all();
    }
    // Free the model on the thread that used it.
    cached_features = at::Tensor();
    model = tokenizer::SetokModel(nullptr);
  }

  Ticket enqueue(Kind kind, bool supersede, std::function<void(Job&)> run) {
    auto job = std::make_shared<Job>();
    job->kind = kind;
    job->supersede = supersede;
    job->run = std::move(run);
    {
      std::lock_guard<std::mutex> lock(mu);
      job->ticket = next_ticket++;
      if (supersede)
        for (auto& q : queue)
          if (q->kind == kind && q->supersede) q->superseded = true;
      queue.push_back(job);
    }
    cv.notify_one();
    return job->ticket;
  }

  void ensure_model(Timings& ms) {
    if (model) return;
    auto t0 = Clock::now();
    std::string dir = options.model_dir.empty() ? tokenizer::default_setok_model() : options.model_dir;
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

  static bool same_image(const io::Image& a, const io::Image& b) {
    return a.width == b.width && a.height == b.height && a.rgb == b.rgb;
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

  template <class Result>
  static void fail(Result& r, const std::function<void()>& body) {
    try {
      body();
    } catch (const Cancelled&) {
      r.status = Status::kCancelled;
    } catch (const c10::Error& e) {
      r.status = Status::kError;
      r.error = first_line(e.what_without_backtrace());
    } catch (const std::exception& e) {
      r.status = Status::kError;
      r.error = first_line(e.what());
    } catch (...) {
      r.status = Status::kError;
      r.error = "unknown error";
    }
  }

  template <class Result>
  static void deliver(const Engine::Done<Result>& done, Result r) {
    if (!done) return;
    try {
      done(std::move(r));
    } catch (...) {
      // A throwing callback must not take the worker (and every later request) down.
    }
  }

  static std::function<void(float)> stage_check(Job& job, const Progress& progress) {
    return [&job, progress](float f) {
      if (job.cancel.load()) throw Cancelled{};
      if (progress && !progress(f)) {
        job.cancel = true;
        throw Cancelled{};
      }
    };
  }

  void run_tokenize(Job& job, TokenizeRequest& req, const Done<TokenizeResult>& done, const Progress& progress) {
    TokenizeResult r;
    r.id = req.id;
    if (job.superseded) {
      r.status = Status::kSuperseded;
      return deliver(done, std::move(r));
    }
    auto t0 = Clock::now();
    auto stage = stage_check(job, progress);
    fail(r, [&] {
      tokenizer::ClusterResult cr = cluster(req.image, req.params, &r.params, r.ms, stage);
      auto t1 = Clock::now();
      const int c = static_cast<int>(cr.num_tokens[0].item<std::int64_t>());
      r.grid_h = static_cast<int>(grid_h);
      r.grid_w = static_cast<int>(grid_w);
      r.grid = to_vector_i32(cr.masks[0].narrow(1, 0, c).argmax(1));
      r.density = to_vector_f32(cr.density[0]);
      r.score = to_vector_f32(cr.score[0]);
      std::vector<std::int32_t> seeds = to_vector_i32(cr.seeds[0].narrow(0, 0, c));
      r.width = req.image.width;
      r.height = req.image.height;
      r.pixel_edges = req.pixel_edges;
      r.map = req.pixel_edges ? tokenizer::refine_token_map(req.image, r.grid, r.grid_h, r.grid_w)
                              : tokenizer::upsample_token_map(r.grid, r.grid_h, r.grid_w, r.width, r.height);
      stage(0.9f);
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
      r.ms.post_ms = ms_since(t1);
      if (req.reconstruct) {
        stage(0.92f);
        auto t2 = Clock::now();
        const at::Tensor pixels = model->preprocess(req.image);
        tokenizer::Tokenized t;
        t.features = cached_features;
        t.grid_h = grid_h;
        t.grid_w = grid_w;
        t.clusters = cr;
        t.tokens = model->merger->forward(t.features, cr.masks, cr.token_valid, grid_h, grid_w);
        const at::Tensor recon = model->reconstruct(pixels, t).clamp(-1, 1);
        r.reconstruction = eval::to_image(recon[0]);
        r.reconstruction_psnr_db = eval::psnr((recon + 1) / 2, (pixels + 1) / 2)[0].item<double>();
        r.ms.reconstruct_ms = ms_since(t2);
      }
      r.model_name = model_name;
      r.trained = trained;
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

  void run_compare(Job& job, ClusterCompareRequest& req, const Done<ClusterCompareResult>& done,
                   const Progress& progress) {
    ClusterCompareResult r;
    r.id = req.id;
    if (job.superseded) {
      r.status = Status::kSuperseded;
      return deliver(done, std::move(r));
    }
    auto t0 = Clock::now();
    auto stage = stage_check(job, progress);
    fail(r, [&] {
      if (req.patch_cells < 1) throw Error("the patch grid needs at least one cell");
      tokenizer::ClusterParams used;
      tokenizer::ClusterResult cr = cluster(req.image, req.params, &used, r.ms, stage);
      auto t1 = Clock::now();
      const int c = static_cast<int>(cr.num_tokens[0].item<std::int64_t>());
      const int gh = static_cast<int>(grid_h), gw = static_cast<int>(grid_w);
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
      at::Tensor fixed = tokenizer::dpc_knn(cached_features, c, used.knn);
      r.fixed_k_map = to_map(to_vector_i32(fixed[0]));
      stage(0.9f);
      const float op = options.overlay_opacity;
      r.setok_overlay = tokenizer::render_overlay(req.image, r.setok_map, op, true);
      r.patch_overlay = tokenizer::render_overlay(req.image, r.patch_map, op, true);
      r.fixed_k_overlay = tokenizer::render_overlay(req.image, r.fixed_k_map, op, true);
      r.ms.post_ms = ms_since(t1);
      r.model_name = model_name;
      r.trained = trained;
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
};

tokenizer::ClusterParams model_cluster_params(const std::string& model_dir) {
  const std::string dir = model_dir.empty() ? tokenizer::default_setok_model() : model_dir;
  if (dir.empty()) return tokenizer::SetokConfig::small().cluster;  // as ensure_model's fallback
  return tokenizer::SetokConfig::from_json(io::read_json_file((std::filesystem::path(dir) / "config.json").string()))
      .cluster;
}

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    for (auto& q : impl_->queue) q->cancel = true;
    if (impl_->running) impl_->running->cancel = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
}

Engine::Ticket Engine::submit(TokenizeRequest r, Done<TokenizeResult> done, Progress progress, bool supersede) {
  auto req = std::make_shared<TokenizeRequest>(std::move(r));
  return impl_->enqueue(Kind::kTokenize, supersede,
                        [this, req, done = std::move(done), progress = std::move(progress)](Impl::Job& job) {
                          impl_->run_tokenize(job, *req, done, progress);
                        });
}

Engine::Ticket Engine::submit(ClusterCompareRequest r, Done<ClusterCompareResult> done, Progress progress,
                              bool supersede) {
  auto req = std::make_shared<ClusterCompareRequest>(std::move(r));
  return impl_->enqueue(Kind::kCompare, supersede,
                        [this, req, done = std::move(done), progress = std::move(progress)](Impl::Job& job) {
                          impl_->run_compare(job, *req, done, progress);
                        });
}

void Engine::cancel(Ticket t) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->running && impl_->running->ticket == t) impl_->running->cancel = true;
  for (auto& q : impl_->queue)
    if (q->ticket == t) q->cancel = true;
}

void Engine::cancel_all() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->running) impl_->running->cancel = true;
  for (auto& q : impl_->queue) q->cancel = true;
}

void Engine::wait_idle() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->idle_cv.wait(lock, [this] { return impl_->queue.empty() && !impl_->running; });
}

TokenizeResult Engine::run(TokenizeRequest r) {
  if (on_worker_thread()) throw Error("Engine::run called from the engine's own worker");
  std::promise<TokenizeResult> result;
  std::future<TokenizeResult> f = result.get_future();
  submit(std::move(r), [&result](TokenizeResult t) { result.set_value(std::move(t)); });
  return f.get();
}

std::size_t Engine::pending() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->queue.size() + (impl_->running ? 1 : 0);
}

bool Engine::on_worker_thread() const { return std::this_thread::get_id() == impl_->worker.get_id(); }

}  // namespace setok::engine
