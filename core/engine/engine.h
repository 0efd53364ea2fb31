#pragma once
// The engine: the loaded models and the worker threads that run typed requests on them, one worker
// per kind of model (SeTok: tokenize, compare; SeTokim: chat, segment), so a long answer never holds
// up a live drag. Each worker runs its requests in the order they were submitted. Callers (the
// studio's GUI thread, tests, tools) never run model code; they submit a request and get exactly one
// result back through a callback that runs on the worker thread (ui/engine_bridge re-posts it to the
// GUI thread). No torch in this header: ui/ includes it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/chat_request.h"
#include "core/engine/edit_request.h"
#include "core/engine/request_status.h"
#include "core/engine/segment_request.h"
#include "core/io/image.h"
#include "core/tokenizer/cluster_options.h"
#include "core/tokenizer/token_overlay.h"

namespace setok::tokenizer {
struct TokenSet;
}

namespace setok::engine {

struct Timings {
  double load_model_ms = 0;  // 0 unless this request loaded the model
  double encode_ms = 0;      // 0 when the image's features were cached
  double cluster_ms = 0;
  double post_ms = 0;         // token maps at image resolution, statistics
  double reconstruct_ms = 0;  // merger + detokenizer, when the request asked for the reconstruction
  double total_ms = 0;        // from the worker picking the request up to the result
};

struct TokenizeRequest {
  io::Image image;
  // Unset: the model's own cluster settings.
  std::optional<tokenizer::ClusterParams> params;
  // The per-pixel map with pixel edges (tokenizer::refine_token_map) instead of whole patches.
  bool pixel_edges = false;
  // Also the detokenizer's picture of the tokens (the merger, then the detokenizer with the
  // tokens' region descriptors), as `setok tokenize --reconstruction` draws it.
  bool reconstruct = false;
  // Also the token set (tokenizer/token_set.h: each token's vector and region descriptor, all a
  // detokenizer or SeTokim reads), as `setok tokenize --tokens` saves it.
  bool token_set = false;
  std::uint64_t id = 0;  // the caller's tag, returned in the result
};

struct TokenInfo {
  tokenizer::TokenStat stat;  // area, bbox, centroid, colour at image resolution
  int seed_patch = -1;        // -1: the final scope (patches no seed claimed)
  float seed_score = 0;       // s = ρ·δ of the seed patch (0 for the final scope)
  float density = 0;          // mean ρ over the token's patches
};

struct TokenizeResult {
  std::uint64_t id = 0;
  Status status = Status::kOk;
  std::string error;  // one line, for kError
  int width = 0, height = 0;
  std::vector<std::int32_t> map;  // token index of every image pixel, row-major
  bool pixel_edges = false;       // map has pixel edges (else it is the patch grid upsampled)
  int grid_h = 0, grid_w = 0;
  std::vector<std::int32_t> grid;  // token index of every patch
  std::vector<float> density;      // ρ of every patch (Eq. 1)
  std::vector<float> score;        // seed score of every patch
  std::vector<TokenInfo> tokens;
  tokenizer::ClusterParams params;  // the settings that produced it
  // With reconstruct: the picture at the model's input size (the image as the encoder saw it is
  // resized to it), and its PSNR against that resized input (as `setok eval setok` scores it).
  io::Image reconstruction;
  double reconstruction_psnr_db = 0;
  // With reconstruct or token_set: the set the reconstruction is drawn from (nothing else is read).
  std::shared_ptr<const tokenizer::TokenSet> token_set;
  Timings ms;
  std::string model_name;
  bool trained = false;
  bool ok() const { return status == Status::kOk; }
};

// The paper's Figure 1: the same image as SeTok tokens, a fixed patch grid and a fixed-K
// clustering (DPC-KNN with K = the SeTok token count).
struct ClusterCompareRequest {
  io::Image image;
  std::optional<tokenizer::ClusterParams> params;
  // SeTok's and the fixed-K grouping's maps with pixel edges, as for TokenizeRequest.
  bool pixel_edges = false;
  int patch_cells = 8;  // the patch grid shown is patch_cells × patch_cells (coarser than the encoder's)
  std::uint64_t id = 0;
};

struct ClusterCompareResult {
  std::uint64_t id = 0;
  Status status = Status::kOk;
  std::string error;
  int width = 0, height = 0;
  int tokens = 0;                                               // SeTok's count, also the K of the fixed-K clustering
  std::vector<std::int32_t> setok_map, patch_map, fixed_k_map;  // image resolution
  io::Image setok_overlay, patch_overlay, fixed_k_overlay;
  Timings ms;
  std::string model_name;
  bool trained = false;
  bool ok() const { return status == Status::kOk; }
};

struct EngineOptions {
  // SeTok model folder; empty: the bundled one, else a fixed-seed random small model (untrained).
  std::string model_dir;
  float overlay_opacity = 0.5f;  // for the comparison overlays
  // The worker runs at a lower priority (nice 10), so that a GUI thread on a machine with few
  // cores gets the CPU the moment it needs it. Tools without a GUI turn it off.
  bool background_priority = true;
  std::string setokim_dir;  // empty: tokenizer::default_setokim_model()
};

// The cluster settings a tokenize request without params gets from the model in `model_dir` (empty:
// the bundled model, else the untrained fallback's), read from its config.json without loading
// weights, so a caller can show them before the first image. Throws setok::Error on a bad config.
tokenizer::ClusterParams model_cluster_params(const std::string& model_dir);

class Engine {
 public:
  using Ticket = std::uint64_t;
  template <class R>
  using Done = engine::Done<R>;

  explicit Engine(EngineOptions options = {});
  ~Engine();  // cancels what is queued or running, delivers those results, joins the workers
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // supersede: queued (not yet running) requests of the same kind that were also submitted with
  // supersede come back as Status::kSuperseded without running; live parameter drags use it.
  Ticket submit(TokenizeRequest r, Done<TokenizeResult> done, Progress progress = {}, bool supersede = false);
  Ticket submit(ClusterCompareRequest r, Done<ClusterCompareResult> done, Progress progress = {},
                bool supersede = false);
  // On the SeTokim worker. Hover previews use supersede.
  Ticket submit(SegmentRequest r, Done<SegmentOutcome> done, Progress progress = {}, bool supersede = false);
  // On the SeTokim worker: an edit of a picture, or a new one drawn from a prompt; cancellable
  // after every token written.
  Ticket submit(EditRequest r, Done<EditOutcome> done, Progress progress = {});
  // On the SeTokim worker; `stream` gets an answer's pieces there (see core/engine/chat_job.h for
  // what cancelling a chat request does).
  Ticket submit(ChatRequest r, Done<ChatOutcome> done, ChatStream stream = {});
  // Requests submitted after this one tokenize with the SeTok model in `dir` (empty: the bundled
  // one); those before it finish with the old model. The old model is freed then.
  void use_setok_model(std::string dir);

  // Cooperative: a running request stops at its next stage boundary and comes back kCancelled.
  void cancel(Ticket t);
  void cancel_all();  // every worker's requests
  // Blocks until no worker has anything queued or running (tests, tools; never the GUI thread).
  void wait_idle();
  // Submits one request and waits for its result (tools such as `setok tokenize`; never the GUI
  // thread, nor the worker that would run it): the same pipeline as an asynchronous request.
  TokenizeResult run(TokenizeRequest r);
  SegmentOutcome run(SegmentRequest r);
  std::size_t pending() const;
  // Whether the caller is one of the threads that run model code (for tests that prove the GUI
  // thread is not).
  bool on_worker_thread() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace setok::engine
