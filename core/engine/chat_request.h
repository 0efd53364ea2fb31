#pragma once
// Chat through the engine: every step of a conversation with SeTokim (load a model, attach an
// image, ask, regenerate, edit, reset, open a saved one) is a request on the SeTokim lane. The
// conversation's state (its ChatSession: images, KV cache) stays in the engine under the caller's
// conversation id; the weights are shared with every other user of the same folder. Torch-free
// (ui/ includes it).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/engine/request_status.h"
#include "core/io/image.h"
#include "core/mllm/chat_session.h"

namespace setok::engine {

enum class ChatAction {
  kLoadModel,   // the conversation starts afresh with the SeTokim in `path` (empty: the engine's)
  kAttach,      // `image` (or the image file `path`) joins the next question
  kAsk,         // attaches `image` when there is one, then asks `text`
  kRegenerate,  // answers the last question again
  kEdit,        // replaces question `turn` with `text`, drops what came after it, answers again
  kReset,       // forgets the turns and images, keeps the model
  kOpenSaved,   // restores the conversation saved as JSON in `path`
  kClose,       // drops the conversation and its state
};

struct ChatRequest {
  std::uint64_t conversation = 0;  // the caller's name for the conversation
  ChatAction action = ChatAction::kAsk;
  std::string text;      // kAsk: the question; kEdit: the question's new text
  std::size_t turn = 0;  // kEdit: the user turn (an index into the turns)
  // kAsk, kAttach: an image to attach; kOpenSaved: the image that saved images named "canvas" or
  // `image_source` come from (the others are read from their files).
  io::Image image;
  std::string image_source;  // the image's name in the conversation (and in a saved file)
  bool restart = false;      // kAsk: reset the conversation first (the question is about a new image)
  std::string path;          // kLoadModel: a SeTokim folder; kAttach: an image file; kOpenSaved: the JSON
  mllm::ChatSampling sampling;
  std::uint64_t id = 0;  // the caller's tag, returned in the outcome
};

// Called on the worker with each new piece of an answer; returning false stops the answer (the
// turn keeps what came), as returning false stops every engine callback.
using ChatStream = std::function<bool(const std::string& piece)>;

// Whatever its status, an outcome carries the conversation as it stands after the request: a
// stopped answer (kCancelled) keeps what came, a failed step (kError) leaves the rest as it was.
struct ChatOutcome {
  std::uint64_t id = 0;
  Status status = Status::kOk;
  std::string error;  // one line, for kError
  std::uint64_t conversation = 0;
  ChatAction action = ChatAction::kAsk;
  std::string model_dir;  // the conversation's SeTokim folder; empty while it has none
  int image_index = -1;   // the image this request attached (kAsk with an image, kAttach)
  std::vector<mllm::ChatTurn> turns;
  std::vector<mllm::ChatImage> images;
  std::vector<int> pending;  // images waiting for the next question
  double load_model_ms = 0;  // 0 unless this request loaded the weights
  bool ok() const { return status == Status::kOk; }
};

}  // namespace setok::engine
