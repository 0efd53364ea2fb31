#pragma once
// A conversation with SeTokim about images, shared by `setok chat` and the studio's Chat panel:
// images attached to the next question, streamed answers that can be cancelled, regenerate, edit
// an earlier question and answer again from there, and JSON save / open. Torch-free header (the
// studio's widgets include it). Not thread-safe: one caller at a time (the engine's SeTokim worker).
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/io/image.h"
#include "core/mllm/domain_profile.h"
#include "core/mllm/loaded_setokim.h"

namespace setok::mllm {

// The mask a [SEG] answer stands for: the mask decoder's answer to the question over the image.
struct ChatMask {
  int image = -1;  // which of the conversation's images
  int width = 0, height = 0;
  std::vector<std::uint8_t> mask;  // 0/1, width × height, row-major
  float predicted_iou = 0;
  std::string error;  // why there is no mask (no mask decoder, no image), one line; empty when drawn
};

struct ChatTurn {
  std::string role;  // "user" or "assistant"
  std::string text;
  std::vector<int> images;  // user turns: the images attached to this question (indices)
  bool stopped = false;     // assistant turns: cut short by the user (Stop)
  // Assistant turns: per image of the conversation so far, the share of the answer's attention that
  // went to each of its visual tokens (see Answer::image_attention); empty for other images.
  std::vector<std::vector<float>> attention;
  // User turns: the question's words that none of the model's training questions used (empty
  // when the model has no domain profile).
  std::vector<std::string> unknown_words;
  // Assistant turns whose answer holds [SEG] (paper §2.2): the mask it stands for. Not saved.
  std::optional<ChatMask> mask;
};

struct ChatImage {
  std::string source;               // file path, or a label such as "canvas" (saved in the JSON)
  int tokens = 0;                   // visual tokens
  int grid_h = 0, grid_w = 0;       // the patch grid
  std::vector<int> token_of_patch;  // grid_h * grid_w: the visual token each patch fed
  // Against the model's domain profile: how far the image is from its training images (-1: the
  // model has none), and whether that is farther than its held-out images go.
  double domain_distance = -1;
  bool unfamiliar = false;
};

struct ChatSampling {
  double temperature = 0.0, top_p = 1.0;
  int max_tokens = 128;
  std::uint64_t seed = 0;
};

// A conversation as saved: {"format": "setok-chat-1", "model", "images": [source…],
// "messages": [{role, text, images (user turns: indices into "images"), stopped (when true)}]}.
nlohmann::json chat_to_json(const std::string& model_dir, const std::vector<ChatImage>& images,
                            const std::vector<ChatTurn>& turns);

class ChatSession {
 public:
  // A conversation with a model loaded once and shared (several conversations, or chat beside
  // other uses of the same model, read one copy of the weights).
  explicit ChatSession(std::shared_ptr<const LoadedSetokim> model);
  // Loads a SeTokim folder (config.json, weights, tokenizer.model) for this conversation alone.
  // Throws setok::Error.
  explicit ChatSession(const std::string& model_dir);
  ~ChatSession();
  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  const std::string& model_dir() const { return dir_; }
  const std::shared_ptr<const LoadedSetokim>& model() const { return model_; }
  // What the model was trained on (its domain.json), or null when it has none.
  const DomainProfile* domain() const;
  // Encodes an image; it joins the next question. Returns its index.
  int add_image(const io::Image& image, const std::string& source);
  // Images waiting for the next question.
  const std::vector<int>& pending_images() const { return pending_; }
  // Draws what a [SEG] answer stands for: the mask of `request` (the user's question) over `image`
  // (width × height, 0/1). Throws setok::Error with a one-line reason.
  using SegmentFn = std::function<ChatMask(const io::Image& image, const std::string& request)>;
  // Set by whoever can run a mask decoder (the engine, `setok chat`); without one a [SEG] answer's
  // mask says why there is none.
  void set_segmenter(SegmentFn f) { segment_ = std::move(f); }

  // Called with each new piece of the answer; return false to stop (the turn keeps what came).
  using Stream = std::function<bool(const std::string& piece)>;
  // Asks `question` (with the pending images) and appends the user and assistant turns.
  const ChatTurn& ask(const std::string& question, const ChatSampling& s, const Stream& stream = {});
  // Answers the last question again (replacing the last answer).
  const ChatTurn& regenerate(const ChatSampling& s, const Stream& stream = {});
  // Replaces the text of user turn `turn` (an index into turns()), drops everything after it, and
  // answers again. Images attached to later questions are dropped too.
  const ChatTurn& edit(std::size_t turn, const std::string& question, const ChatSampling& s, const Stream& stream = {});
  void reset();

  const std::vector<ChatTurn>& turns() const { return turns_; }
  const std::vector<ChatImage>& images() const { return images_; }

  nlohmann::json to_json() const { return chat_to_json(dir_, images_, turns_); }
  // Restores a saved conversation; `load_image` reads an image source (throws on failure).
  void from_json(const nlohmann::json& j, const std::function<io::Image(const std::string&)>& load_image);

 private:
  const ChatTurn& answer_last(const ChatSampling& s, const Stream& stream);
  void draw_mask(ChatTurn& answer) const;
  struct Impl;
  std::shared_ptr<const LoadedSetokim> model_;
  std::unique_ptr<Impl> impl_;
  std::string dir_;
  std::vector<ChatTurn> turns_;
  std::vector<ChatImage> images_;
  std::vector<int> pending_;
  SegmentFn segment_;
};

}  // namespace setok::mllm
