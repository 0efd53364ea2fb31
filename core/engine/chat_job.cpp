#include "core/engine/chat_job.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/engine/job_support.h"
#include "core/heads/chat_mask.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"

namespace setok::engine {
namespace {

mllm::ChatSession& session_of(SetokimLane& lane, std::uint64_t conversation) {
  mllm::ChatSession* s = lane.conversation(conversation);
  if (!s) throw Error("chat: no SeTokim model loaded for this conversation");
  return *s;
}

// A saved conversation's images: the caller's image for "canvas" (or its own name), else the files,
// relative ones beside the JSON.
void open_saved(mllm::ChatSession& s, const ChatRequest& req) {
  const nlohmann::json j = io::read_json_file(req.path);
  const std::filesystem::path base = std::filesystem::path(req.path).parent_path();
  s.from_json(j, [&](const std::string& src) {
    if ((src == "canvas" || src == req.image_source) && !req.image.empty()) return req.image;
    std::filesystem::path f(src);
    if (f.is_relative() && !std::filesystem::exists(f)) f = base / f;
    return io::load_image(f.string());
  });
}

// The request's step on the conversation; `piece` streams an answer.
void perform(SetokimLane& lane, const ChatRequest& req, ChatOutcome& r, const mllm::ChatSession::Stream& piece) {
  if (req.action == ChatAction::kLoadModel) {
    auto m = lane.model(req.path, &r.load_model_ms);
    auto session = std::make_unique<mllm::ChatSession>(m);
    session->set_segmenter(heads::chat_segmenter(std::move(m)));
    lane.set_conversation(req.conversation, std::move(session));
    return;
  }
  if (req.action == ChatAction::kClose) return lane.close_conversation(req.conversation);
  mllm::ChatSession& s = session_of(lane, req.conversation);
  switch (req.action) {
    case ChatAction::kAttach:
      r.image_index = req.image.empty() ? s.add_image(io::load_image(req.path), req.path)
                                        : s.add_image(req.image, req.image_source);
      break;
    case ChatAction::kAsk:
      if (req.restart) s.reset();
      if (!req.image.empty()) r.image_index = s.add_image(req.image, req.image_source);
      s.ask(req.text, req.sampling, piece);
      break;
    case ChatAction::kRegenerate:
      s.regenerate(req.sampling, piece);
      break;
    case ChatAction::kEdit:
      s.edit(req.turn, req.text, req.sampling, piece);
      break;
    case ChatAction::kReset:
      s.reset();
      break;
    case ChatAction::kOpenSaved:
      open_saved(s, req);
      break;
    case ChatAction::kLoadModel:
    case ChatAction::kClose:
      break;
  }
}

// The conversation as it stands, for the caller to show.
void snapshot(SetokimLane& lane, std::uint64_t conversation, ChatOutcome& r) {
  const mllm::ChatSession* s = lane.conversation(conversation);
  if (!s) return;
  r.model_dir = s->model_dir();
  r.turns = s->turns();
  r.images = s->images();
  r.pending = s->pending_images();
}

}  // namespace

void run_chat(SetokimLane& lane, WorkerLane::Job& job, ChatRequest& req, const Done<ChatOutcome>& done,
              const ChatStream& stream) {
  ChatOutcome r;
  r.id = req.id;
  r.conversation = req.conversation;
  r.action = req.action;
  if (job.shutdown) {
    r.status = Status::kCancelled;
    return detail::deliver(done, std::move(r));
  }
  bool stopped = false;
  // Cancel is read before each piece and again after the caller had it (a Stop pressed meanwhile).
  const mllm::ChatSession::Stream piece = [&](const std::string& p) {
    if (!job.cancel.load() && (!stream || stream(p)) && !job.cancel.load()) return true;
    job.cancel = stopped = true;
    return false;
  };
  detail::fail(r, [&] { perform(lane, req, r, piece); });
  if (r.ok() && stopped) r.status = Status::kCancelled;
  snapshot(lane, req.conversation, r);
  detail::deliver(done, std::move(r));
}

}  // namespace setok::engine
