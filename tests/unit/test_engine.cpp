// The engine's worker thread: results in submission order, exactly one per request, cancellation
// (by ticket and by the progress callback), superseding of queued drags, errors as results.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdlib>

#include "core/engine/engine.h"
#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_overlay.h"

using namespace setok::engine;

namespace {

// A small image with two flat halves, so the tokenizer has something to split.
setok::io::Image test_image(int w = 64, int h = 48) {
  setok::io::Image img{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = &img.rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = x < w / 2 ? 220 : 20, p[1] = static_cast<std::uint8_t>(y * 5), p[2] = 90;
    }
  return img;
}

TokenizeRequest request(std::uint64_t id) {
  TokenizeRequest r;
  r.image = test_image();
  r.id = id;
  return r;
}

// A gate the worker waits at (inside a progress callback) until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, reached = false;
  bool wait() {
    std::unique_lock<std::mutex> l(mu);
    reached = true;
    cv.notify_all();
    cv.wait(l, [this] { return open; });
    return true;
  }
  void wait_reached() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [this] { return reached; });
  }
  void release() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

struct Log {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, Status>> seen;
  std::vector<TokenizeResult> results;
  Engine::Done<TokenizeResult> sink() {
    return [this](TokenizeResult r) {
      std::lock_guard<std::mutex> l(mu);
      seen.push_back({r.id, r.status});
      results.push_back(std::move(r));
    };
  }
};

}  // namespace

TEST(Engine, TokenizesAndReturnsResultsInSubmissionOrder) {
  Engine e;
  Log log;
  for (std::uint64_t i = 1; i <= 5; ++i) e.submit(request(i), log.sink());
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 5u);
  for (std::uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(log.seen[i].first, i + 1);
    EXPECT_EQ(log.seen[i].second, Status::kOk) << log.results[i].error;
  }
  const TokenizeResult& r = log.results[0];
  EXPECT_EQ(r.width, 64);
  EXPECT_EQ(r.height, 48);
  ASSERT_EQ(r.map.size(), 64u * 48u);
  ASSERT_EQ(r.grid.size(), static_cast<std::size_t>(r.grid_h * r.grid_w));
  EXPECT_EQ(r.density.size(), r.grid.size());
  EXPECT_EQ(r.score.size(), r.grid.size());
  ASSERT_FALSE(r.tokens.empty());
  EXPECT_LE(static_cast<int>(r.tokens.size()), r.params.max_tokens);
  std::int64_t area = 0;
  for (const auto& t : r.tokens) area += t.stat.area;
  EXPECT_EQ(area, 64 * 48) << "every pixel belongs to exactly one token";
  for (int v : r.map) ASSERT_TRUE(v >= 0 && v < static_cast<int>(r.tokens.size()));
  EXPECT_FALSE(r.model_name.empty());
  if (!r.trained) {
    EXPECT_NE(r.model_name.find("untrained"), std::string::npos);
  }
  // The same image again: the encoder's features are reused, the tokens are identical.
  EXPECT_GT(log.results[0].ms.encode_ms, 0.0);
  EXPECT_EQ(log.results[1].ms.encode_ms, 0.0);
  EXPECT_EQ(log.results[1].map, r.map);
}

TEST(Engine, ParametersReachTheClusterAndTheCapHolds) {
  Engine e;
  Log log;
  TokenizeRequest a = request(1), b = request(2);
  setok::tokenizer::ClusterParams p;
  p.max_tokens = 2;
  b.params = p;
  e.submit(a, log.sink());
  e.submit(b, log.sink());
  e.wait_idle();
  ASSERT_EQ(log.results.size(), 2u);
  ASSERT_TRUE(log.results[1].ok()) << log.results[1].error;
  EXPECT_LE(log.results[1].tokens.size(), 2u);
  EXPECT_EQ(log.results[1].params.max_tokens, 2);
}

TEST(Engine, RunWaitsForTheSameResultAsASubmittedRequest) {
  // What `setok tokenize` calls: one request, answered by the same pipeline as the studio's.
  Engine e;
  Log log;
  e.submit(request(1), log.sink());
  e.wait_idle();
  Engine fresh;  // features not cached: encoded again
  const TokenizeResult r = fresh.run(request(2));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.id, 2u);
  EXPECT_GT(r.ms.encode_ms, 0.0);
  EXPECT_EQ(r.map, log.results[0].map);
  EXPECT_EQ(r.grid, log.results[0].grid);
  TokenizeRequest empty = request(3);
  empty.image = {};
  const TokenizeResult bad = fresh.run(empty);
  EXPECT_EQ(bad.status, Status::kError);
  EXPECT_FALSE(bad.error.empty());
}

TEST(Engine, CallbacksRunOnTheWorkerThreadNotTheCaller) {
  Engine e;
  std::atomic<bool> on_worker{false};
  std::thread::id caller = std::this_thread::get_id(), seen;
  e.submit(request(1), [&](TokenizeResult) {
    on_worker = e.on_worker_thread();
    seen = std::this_thread::get_id();
  });
  e.wait_idle();
  EXPECT_TRUE(on_worker);
  EXPECT_NE(seen, caller);
  EXPECT_FALSE(e.on_worker_thread());
}

TEST(Engine, CancelStopsTheRunningRequestAtTheNextStage) {
  Engine e;
  Log log;
  Gate gate;
  Engine::Ticket t = e.submit(request(1), log.sink(), [&](float) { return gate.wait(); });
  e.submit(request(2), log.sink());
  gate.wait_reached();
  e.cancel(t);
  gate.release();
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 2u);
  EXPECT_EQ(log.seen[0], std::make_pair(std::uint64_t{1}, Status::kCancelled));
  EXPECT_TRUE(log.results[0].map.empty()) << "a cancelled result carries no half-made maps";
  EXPECT_EQ(log.seen[1], std::make_pair(std::uint64_t{2}, Status::kOk)) << "the engine goes on after a cancel";
}

TEST(Engine, ProgressReturningFalseCancels) {
  Engine e;
  Log log;
  std::vector<float> fractions;
  e.submit(request(1), log.sink(), [&](float f) {
    fractions.push_back(f);
    return f < 0.5f;
  });
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 1u);
  EXPECT_EQ(log.seen[0].second, Status::kCancelled);
  ASSERT_GE(fractions.size(), 2u);
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
}

TEST(Engine, NewerDragRequestsSupersedeQueuedOnes) {
  Engine e;
  Log log;
  Gate gate;
  e.submit(
      request(1), log.sink(), [&](float) { return gate.wait(); }, true);
  gate.wait_reached();  // 1 is running: it is never superseded, only queued ones are
  for (std::uint64_t i = 2; i <= 4; ++i) e.submit(request(i), log.sink(), {}, true);
  e.submit(request(5), log.sink(), {}, false);  // not a drag: always runs
  gate.release();
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 5u);
  EXPECT_EQ(log.seen[0], std::make_pair(std::uint64_t{1}, Status::kOk));
  EXPECT_EQ(log.seen[1], std::make_pair(std::uint64_t{2}, Status::kSuperseded));
  EXPECT_EQ(log.seen[2], std::make_pair(std::uint64_t{3}, Status::kSuperseded));
  EXPECT_EQ(log.seen[3], std::make_pair(std::uint64_t{4}, Status::kOk));
  EXPECT_EQ(log.seen[4], std::make_pair(std::uint64_t{5}, Status::kOk));
}

TEST(Engine, ErrorsComeBackAsResultsAndTheWorkerGoesOn) {
  Engine e;
  Log log;
  TokenizeRequest empty;
  empty.id = 1;
  e.submit(empty, log.sink());
  TokenizeRequest bad = request(2);
  setok::tokenizer::ClusterParams p;
  p.max_tokens = 0;
  bad.params = p;
  e.submit(bad, log.sink());
  e.submit(request(3), log.sink());
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 3u);
  EXPECT_EQ(log.seen[0].second, Status::kError);
  EXPECT_NE(log.results[0].error.find("empty"), std::string::npos) << log.results[0].error;
  EXPECT_EQ(log.seen[1].second, Status::kError);
  EXPECT_FALSE(log.results[1].error.empty());
  EXPECT_EQ(log.results[1].error.find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(log.seen[2].second, Status::kOk);
}

TEST(Engine, AThrowingCallbackDoesNotStopTheWorker) {
  Engine e;
  Log log;
  e.submit(request(1), [](TokenizeResult) { throw std::runtime_error("boom"); });
  e.submit(request(2), log.sink());
  e.wait_idle();
  ASSERT_EQ(log.seen.size(), 1u);
  EXPECT_EQ(log.seen[0].second, Status::kOk);
}

TEST(Engine, DestroyingItDeliversEveryQueuedRequestOnce) {
  Log log;
  {
    Engine e;
    for (std::uint64_t i = 1; i <= 4; ++i) e.submit(request(i), log.sink());
  }
  ASSERT_EQ(log.seen.size(), 4u);
  std::set<std::uint64_t> ids;
  for (auto& s : log.seen) {
    ids.insert(s.first);
    EXPECT_TRUE(s.second == Status::kOk || s.second == Status::kCancelled);
  }
  EXPECT_EQ(ids.size(), 4u);
}

TEST(Engine, ComparesSetokWithAPatchGridAndFixedK) {
  Engine e;
  ClusterCompareResult got;
  ClusterCompareRequest r;
  r.image = test_image();
  r.patch_cells = 4;
  e.submit(r, [&](ClusterCompareResult c) { got = std::move(c); });
  e.wait_idle();
  ASSERT_TRUE(got.ok()) << got.error;
  ASSERT_GT(got.tokens, 0);
  const std::size_t n = 64u * 48u;
  ASSERT_EQ(got.setok_map.size(), n);
  ASSERT_EQ(got.patch_map.size(), n);
  ASSERT_EQ(got.fixed_k_map.size(), n);
  EXPECT_EQ(std::set<int>(got.patch_map.begin(), got.patch_map.end()).size(), 16u);
  std::set<int> k(got.fixed_k_map.begin(), got.fixed_k_map.end());
  EXPECT_LE(static_cast<int>(k.size()), got.tokens);
  EXPECT_GE(*k.begin(), 0);
  EXPECT_EQ(got.setok_overlay.width, 64);
  EXPECT_EQ(got.fixed_k_overlay.rgb.size(), n * 3);
}

TEST(Engine, ReconstructsOnRequestAsTheModelDoes) {
  // reconstruct: the merger and detokenizer's picture of the tokens, the same as the model's own
  // tokenize + reconstruct of that image, on the first request (features computed) and on the
  // second (features cached); without it no picture.
  Engine e;
  Log log;
  TokenizeRequest plain = request(1);
  e.submit(plain, log.sink());
  for (std::uint64_t id : {2, 3}) {
    TokenizeRequest r = request(id);
    r.reconstruct = true;
    e.submit(r, log.sink());
  }
  e.wait_idle();
  ASSERT_EQ(log.results.size(), 3u);
  EXPECT_TRUE(log.results[0].reconstruction.empty());
  EXPECT_EQ(log.results[0].ms.reconstruct_ms, 0.0);

  const std::string dir = setok::tokenizer::default_setok_model();
  ASSERT_FALSE(dir.empty()) << "the bundled model is not found";
  setok::tokenizer::SetokModel m = setok::tokenizer::load_setok(dir);
  m->eval();
  c10::InferenceMode guard;
  const at::Tensor pixels = m->preprocess(test_image());
  const at::Tensor recon = m->reconstruct(pixels, m->tokenize(pixels)).clamp(-1, 1);
  const setok::io::Image want = setok::eval::to_image(recon[0]);
  const double want_psnr = setok::eval::psnr((recon + 1) / 2, (pixels + 1) / 2)[0].item<double>();
  for (std::size_t i = 1; i < 3; ++i) {
    const TokenizeResult& r = log.results[i];
    ASSERT_EQ(r.status, Status::kOk) << r.error;
    ASSERT_EQ(r.reconstruction.width, want.width);
    ASSERT_EQ(r.reconstruction.height, want.height);
    int worst = 0;
    for (std::size_t k = 0; k < want.rgb.size(); ++k)
      worst = std::max(worst, std::abs(int(r.reconstruction.rgb[k]) - int(want.rgb[k])));
    EXPECT_LE(worst, 1) << "request " << r.id;
    EXPECT_NEAR(r.reconstruction_psnr_db, want_psnr, 1e-3);
    EXPECT_GT(r.ms.reconstruct_ms, 0.0);
  }
}

// With pixel edges the comparison's SeTok map is the one a tokenize request with pixel edges
// draws (not whole patches), so the two views agree.
TEST(Engine, ComparisonFollowsPixelEdges) {
  Engine e;
  TokenizeResult tok;
  TokenizeRequest t = request(1);
  t.pixel_edges = true;
  e.submit(t, [&](TokenizeResult r) { tok = std::move(r); });
  ClusterCompareResult cmp;
  ClusterCompareRequest c;
  c.image = test_image();
  c.pixel_edges = true;
  e.submit(c, [&](ClusterCompareResult r) { cmp = std::move(r); });
  e.wait_idle();
  ASSERT_TRUE(tok.ok() && cmp.ok()) << tok.error << cmp.error;
  EXPECT_EQ(cmp.setok_map, tok.map);
  ClusterCompareResult patches;
  c.pixel_edges = false;
  e.submit(c, [&](ClusterCompareResult r) { patches = std::move(r); });
  e.wait_idle();
  EXPECT_EQ(patches.setok_map,
            setok::tokenizer::upsample_token_map(tok.grid, tok.grid_h, tok.grid_w, tok.width, tok.height));
}

// The settings a request without params gets: read from the model's config without loading it.
TEST(Engine, ModelClusterParamsAreTheModelsOwn) {
  Engine e;
  TokenizeResult got;
  e.submit(request(1), [&](TokenizeResult r) { got = std::move(r); });
  e.wait_idle();
  ASSERT_TRUE(got.ok()) << got.error;
  const setok::tokenizer::ClusterParams p = model_cluster_params("");
  EXPECT_EQ(p.max_tokens, got.params.max_tokens);
  EXPECT_EQ(p.knn, got.params.knn);
  EXPECT_FLOAT_EQ(p.beta, got.params.beta);
  EXPECT_FLOAT_EQ(p.bandwidth, got.params.bandwidth);
  EXPECT_EQ(p.edge_passes, got.params.edge_passes);
  EXPECT_THROW(model_cluster_params("/nonexistent-model-folder"), setok::Error);
}
