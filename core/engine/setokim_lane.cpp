#include "core/engine/setokim_lane.h"

#include <filesystem>
#include <system_error>

#include "core/engine/job_support.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace setok::engine {

SetokimLane::SetokimLane(std::string setokim_dir) : setokim_dir_(std::move(setokim_dir)) {}

SetokimLane::~SetokimLane() = default;

std::string SetokimLane::dir() const {
  const std::string d = setokim_dir_.empty() ? tokenizer::default_setokim_model() : setokim_dir_;
  if (d.empty()) throw Error("no SeTokim model: none is bundled and none was given");
  return d;
}

std::shared_ptr<const mllm::LoadedSetokim> SetokimLane::model(const std::string& dir, double* load_ms) {
  const std::string d = dir.empty() ? this->dir() : dir;
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(d, ec).string();
  if (ec) key = d;
  if (auto m = loaded_[key].lock()) return m;
  const auto t0 = detail::Clock::now();
  std::shared_ptr<const mllm::LoadedSetokim> m = mllm::LoadedSetokim::load(d);
  if (load_ms) *load_ms += detail::ms_since(t0);
  for (auto it = loaded_.begin(); it != loaded_.end();) it = it->second.expired() ? loaded_.erase(it) : ++it;
  loaded_[key] = m;
  return m;
}

const heads::Segmenter& SetokimLane::segmenter(double* load_ms) {
  if (segmenter_) return *segmenter_;
  const std::string d = dir();
  // Checked before loading anything: the reason a user reads is the missing decoder, not a file name.
  if (!heads::Segmenter::has_decoder(d)) throw Error(d + " has no mask decoder");
  std::shared_ptr<const mllm::LoadedSetokim> m = model(d, load_ms);
  const auto t0 = detail::Clock::now();
  segmenter_ = heads::Segmenter::load(std::move(m));
  if (load_ms) *load_ms += detail::ms_since(t0);
  encoded_.clear();
  return *segmenter_;
}

mllm::WriterModel& SetokimLane::writer(double* load_ms) {
  if (writer_) return *writer_;
  const auto t0 = detail::Clock::now();
  double model_ms = 0;  // loading the SeTokim, which model() counts itself
  writer_ = std::make_unique<mllm::WriterModel>(
      mllm::load_writer_model(dir(), [&](const std::string& d) { return model(d, &model_ms); }));
  if (load_ms) *load_ms += detail::ms_since(t0);
  return *writer_;
}

mllm::ChatSession* SetokimLane::conversation(std::uint64_t id) {
  auto it = conversations_.find(id);
  return it == conversations_.end() ? nullptr : it->second.get();
}

void SetokimLane::set_conversation(std::uint64_t id, std::unique_ptr<mllm::ChatSession> s) {
  conversations_[id] = std::move(s);
}

void SetokimLane::close_conversation(std::uint64_t id) { conversations_.erase(id); }

void SetokimLane::release() {
  conversations_.clear();
  encoded_.clear();
  segmenter_.reset();
  writer_.reset();
  loaded_.clear();
}

}  // namespace setok::engine
