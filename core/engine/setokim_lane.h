#pragma once
// The SeTokim lane's state: each SeTokim folder loaded once and shared by everything that uses it
// (chat conversations, the segmenter, the writer), the segmenter over the engine's SeTokim with the images it
// encoded last, and the conversations by id, each with its own ChatSession (images, KV cache).
// Worker-thread only; internal to core/engine.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/engine/encoded_images.h"
#include "core/heads/segmenter.h"
#include "core/mllm/chat_session.h"
#include "core/mllm/loaded_setokim.h"
#include "core/mllm/writer_model.h"

namespace setok::engine {

class SetokimLane {
 public:
  // setokim_dir: the folder the segmenter uses (empty: tokenizer::default_setokim_model()).
  explicit SetokimLane(std::string setokim_dir);
  ~SetokimLane();
  SetokimLane(const SetokimLane&) = delete;
  SetokimLane& operator=(const SetokimLane&) = delete;

  // The engine's SeTokim folder. Throws setok::Error when none was given and none is bundled.
  std::string dir() const;
  // The SeTokim in `dir` (empty: the engine's), loaded on first use and shared while anything
  // holds it; *load_ms grows by the time loading took.
  std::shared_ptr<const mllm::LoadedSetokim> model(const std::string& dir, double* load_ms);
  // The segmenter over the engine's SeTokim. Throws setok::Error "<folder> has no mask decoder"
  // when the folder has none.
  const heads::Segmenter& segmenter(double* load_ms);
  EncodedImages& encoded() { return encoded_; }
  // The engine's SeTokim with its diffusion head (editing, generation). Throws setok::Error
  // "<folder> has no diffusion head …" when the folder has none.
  mllm::WriterModel& writer(double* load_ms);

  // The conversation's session, or null when it has none yet.
  mllm::ChatSession* conversation(std::uint64_t id);
  void set_conversation(std::uint64_t id, std::unique_ptr<mllm::ChatSession> s);
  void close_conversation(std::uint64_t id);

  void release();  // frees everything (at the worker's end)

 private:
  std::string setokim_dir_;
  std::map<std::string, std::weak_ptr<const mllm::LoadedSetokim>> loaded_;  // by canonical folder
  std::shared_ptr<const heads::Segmenter> segmenter_;
  std::unique_ptr<mllm::WriterModel> writer_;
  EncodedImages encoded_;
  std::map<std::uint64_t, std::unique_ptr<mllm::ChatSession>> conversations_;
};

}  // namespace setok::engine
