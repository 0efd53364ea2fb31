#include "core/engine/engine.h"

#include <future>
#include <thread>

#include "core/engine/chat_job.h"
#include "core/engine/edit_job.h"
#include "core/engine/segment_job.h"
#include "core/engine/setok_lane.h"
#include "core/engine/setokim_lane.h"
#include "core/engine/worker_lane.h"
#include "core/runtime/error.h"

namespace setok::engine {
namespace {

// The kinds of request a worker tells apart for superseding.
enum Kind : int { kTokenize, kCompare, kSetokModel, kSegment, kChat, kEdit };

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

// The states outlive the workers that use them: declared first, destroyed last.
struct Engine::Impl {
  explicit Impl(const EngineOptions& o)
      : setok(o.model_dir, o.overlay_opacity),
        setokim(o.setokim_dir),
        setok_worker(o.background_priority, [this] { setok.release(); }),
        setokim_worker(o.background_priority, [this] { setokim.release(); }) {}

  SetokLane setok;
  SetokimLane setokim;
  WorkerLane setok_worker;
  WorkerLane setokim_worker;
  std::atomic<Ticket> next_ticket{1};

  Ticket next() { return next_ticket++; }
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(options)) {}

Engine::~Engine() {
  impl_->setok_worker.stop();
  impl_->setokim_worker.stop();
  impl_->setok_worker.join();
  impl_->setokim_worker.join();
}

Engine::Ticket Engine::submit(TokenizeRequest r, Done<TokenizeResult> done, Progress progress, bool supersede) {
  auto req = std::make_shared<TokenizeRequest>(std::move(r));
  const Ticket t = impl_->next();
  impl_->setok_worker.submit(t, kTokenize, supersede,
                             [this, req, done = std::move(done), progress = std::move(progress)](WorkerLane::Job& job) {
                               impl_->setok.tokenize(job, *req, done, progress);
                             });
  return t;
}

Engine::Ticket Engine::submit(ClusterCompareRequest r, Done<ClusterCompareResult> done, Progress progress,
                              bool supersede) {
  auto req = std::make_shared<ClusterCompareRequest>(std::move(r));
  const Ticket t = impl_->next();
  impl_->setok_worker.submit(t, kCompare, supersede,
                             [this, req, done = std::move(done), progress = std::move(progress)](WorkerLane::Job& job) {
                               impl_->setok.compare(job, *req, done, progress);
                             });
  return t;
}

Engine::Ticket Engine::submit(SegmentRequest r, Done<SegmentOutcome> done, Progress progress, bool supersede) {
  auto req = std::make_shared<SegmentRequest>(std::move(r));
  const Ticket t = impl_->next();
  impl_->setokim_worker.submit(t, kSegment, supersede,
                               [this, req, done = std::move(done), progress = std::move(progress)](
                                   WorkerLane::Job& job) { run_segment(impl_->setokim, job, *req, done, progress); });
  return t;
}

Engine::Ticket Engine::submit(EditRequest r, Done<EditOutcome> done, Progress progress) {
  auto req = std::make_shared<EditRequest>(std::move(r));
  const Ticket t = impl_->next();
  impl_->setokim_worker.submit(
      t, kEdit, false, [this, req, done = std::move(done), progress = std::move(progress)](WorkerLane::Job& job) {
        run_edit(impl_->setokim, job, *req, done, progress);
      });
  return t;
}

Engine::Ticket Engine::submit(ChatRequest r, Done<ChatOutcome> done, ChatStream stream) {
  auto req = std::make_shared<ChatRequest>(std::move(r));
  const Ticket t = impl_->next();
  impl_->setokim_worker.submit(t, kChat, false,
                               [this, req, done = std::move(done), stream = std::move(stream)](WorkerLane::Job& job) {
                                 run_chat(impl_->setokim, job, *req, done, stream);
                               });
  return t;
}

void Engine::use_setok_model(std::string dir) {
  // Runs even when cancelled: the requests after it must find the new model.
  impl_->setok_worker.submit(impl_->next(), kSetokModel, false,
                             [this, dir = std::move(dir)](WorkerLane::Job&) { impl_->setok.use_model(dir); });
}

void Engine::cancel(Ticket t) {
  if (!impl_->setok_worker.cancel(t)) impl_->setokim_worker.cancel(t);
}

void Engine::cancel_all() {
  impl_->setok_worker.cancel_all();
  impl_->setokim_worker.cancel_all();
}

void Engine::wait_idle() {
  impl_->setok_worker.wait_idle();
  impl_->setokim_worker.wait_idle();
}

TokenizeResult Engine::run(TokenizeRequest r) {
  if (impl_->setok_worker.on_thread()) throw Error("Engine::run called from the worker that would run it");
  std::promise<TokenizeResult> result;
  std::future<TokenizeResult> f = result.get_future();
  submit(std::move(r), [&result](TokenizeResult t) { result.set_value(std::move(t)); });
  return f.get();
}

SegmentOutcome Engine::run(SegmentRequest r) {
  if (impl_->setokim_worker.on_thread()) throw Error("Engine::run called from the worker that would run it");
  std::promise<SegmentOutcome> result;
  std::future<SegmentOutcome> f = result.get_future();
  submit(std::move(r), [&result](SegmentOutcome s) { result.set_value(std::move(s)); });
  return f.get();
}

std::size_t Engine::pending() const { return impl_->setok_worker.pending() + impl_->setokim_worker.pending(); }

bool Engine::on_worker_thread() const { return impl_->setok_worker.on_thread() || impl_->setokim_worker.on_thread(); }

}  // namespace setok::engine
