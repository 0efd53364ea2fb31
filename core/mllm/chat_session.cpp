#include "core/mllm/chat_session.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/llm/text_tokenizer.h"
#include "core/mllm/answer.h"
#include "core/mllm/domain_feature.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"

namespace setok::mllm {

struct ChatSession::Impl {
  Setokim model{nullptr};  // the shared weights, read only
  const llm::TextTokenizer* tok = nullptr;
  const DomainProfile* domain = nullptr;
  std::vector<VisualTokens> visual;  // aligned with images_
  std::vector<io::Image> pixels;     // aligned with images_ (what a [SEG] answer is drawn over)
};

ChatSession::ChatSession(std::shared_ptr<const LoadedSetokim> model)
    : model_(std::move(model)), impl_(std::make_unique<Impl>()) {
  if (!model_) throw Error("chat: no model");
  dir_ = model_->dir();
  impl_->model = Setokim(model_->model());
  impl_->tok = &model_->tokenizer();
  impl_->domain = model_->domain();
}

ChatSession::ChatSession(const std::string& model_dir) : ChatSession(LoadedSetokim::load(model_dir)) {}

const DomainProfile* ChatSession::domain() const { return impl_->domain; }

ChatSession::~ChatSession() = default;

int ChatSession::add_image(const io::Image& image, const std::string& source) {
  c10::InferenceMode g;
  VisualTokens v = impl_->model->encode_image(impl_->model->setok->preprocess(image));
  ChatImage ci;
  ci.source = source;
  ci.tokens = static_cast<int>(v.count());
  ci.grid_h = static_cast<int>(v.grid_h);
  ci.grid_w = static_cast<int>(v.grid_w);
  at::Tensor a = v.assignment.to(at::kLong).contiguous();
  for (std::int64_t i = 0; i < a.numel(); ++i)
    ci.token_of_patch.push_back(static_cast<int>(a.data_ptr<std::int64_t>()[i]));
  if (impl_->domain && impl_->domain->knows_images()) {
    const std::vector<float> f = domain_feature(impl_->model, image);
    ci.domain_distance = impl_->domain->image_distance(f);
    ci.unfamiliar = ci.domain_distance > impl_->domain->threshold;
  }
  impl_->visual.push_back(std::move(v));
  impl_->pixels.push_back(image);
  images_.push_back(std::move(ci));
  pending_.push_back(static_cast<int>(images_.size()) - 1);
  return pending_.back();
}

const ChatTurn& ChatSession::ask(const std::string& question, const ChatSampling& s, const Stream& stream) {
  if (question.empty() && pending_.empty()) throw Error("chat: nothing to ask (an empty question and no image)");
  ChatTurn u;
  u.role = "user";
  u.text = question;
  u.images = pending_;
  if (impl_->domain) u.unknown_words = impl_->domain->unknown_words(question);
  pending_.clear();
  turns_.push_back(std::move(u));
  return answer_last(s, stream);
}

const ChatTurn& ChatSession::regenerate(const ChatSampling& s, const Stream& stream) {
  if (!turns_.empty() && turns_.back().role == "assistant") turns_.pop_back();
  if (turns_.empty()) throw Error("chat: no question to answer again");
  return answer_last(s, stream);
}

const ChatTurn& ChatSession::edit(std::size_t turn, const std::string& question, const ChatSampling& s,
                                  const Stream& stream) {
  if (turn >= turns_.size() || turns_[turn].role != "user")
    throw Error("chat: message " + std::to_string(turn) + " is not a question of this conversation");
  turns_.resize(turn + 1);
  turns_.back().text = question;
  turns_.back().unknown_words = impl_->domain ? impl_->domain->unknown_words(question) : std::vector<std::string>();
  return answer_last(s, stream);
}

void ChatSession::reset() {
  turns_.clear();
  images_.clear();
  impl_->visual.clear();
  impl_->pixels.clear();
  pending_.clear();
}

const ChatTurn& ChatSession::answer_last(const ChatSampling& s, const Stream& stream) {
  // The prompt's images, in the order their questions attached them.
  std::vector<ChatMessage> chat;
  std::vector<VisualTokens> visual;
  std::vector<int> pool_index;
  for (const ChatTurn& t : turns_) {
    chat.push_back({t.role, t.text, static_cast<int>(t.images.size())});
    for (int i : t.images) {
      visual.push_back(impl_->visual.at(static_cast<std::size_t>(i)));
      pool_index.push_back(i);
    }
  }
  llm::SamplingOptions o;
  o.temperature = s.temperature;
  o.top_p = s.top_p;
  o.max_new_tokens = s.max_tokens;
  o.seed = s.seed;
  bool stopped = false;
  Answer a = answer(impl_->model, *impl_->tok, visual, chat, o, [&](const std::string& piece) {
    if (stream && !stream(piece)) {
      stopped = true;
      return false;
    }
    return true;
  });
  ChatTurn r;
  r.role = "assistant";
  r.text = a.text;
  r.stopped = stopped || a.generation.stop_reason == "cancelled";
  r.attention.resize(images_.size());
  for (std::size_t k = 0; k < a.spans.size() && k < a.image_attention.size(); ++k)
    r.attention[static_cast<std::size_t>(pool_index.at(a.spans[k].image))] = a.image_attention[k];
  if (r.text.find(llm::kSeg) != std::string::npos) draw_mask(r);
  turns_.push_back(std::move(r));
  return turns_.back();
}

// The question being answered and the last image shown before it.
void ChatSession::draw_mask(ChatTurn& answer) const {
  ChatMask m;
  const ChatTurn* question = nullptr;
  for (const ChatTurn& t : turns_) {
    if (t.role == "user") question = &t;
    if (!t.images.empty()) m.image = t.images.back();
  }
  try {
    if (!segment_) throw Error("no mask decoder to draw the [SEG] answer with");
    if (m.image < 0 || !question) throw Error("no image to draw the [SEG] answer over");
    const int image = m.image;
    m = segment_(impl_->pixels.at(static_cast<std::size_t>(image)), question->text);
    m.image = image;
  } catch (const std::exception& e) {
    m.mask.clear();
    m.error = e.what();
  }
  answer.mask = std::move(m);
}

nlohmann::json chat_to_json(const std::string& model_dir, const std::vector<ChatImage>& images,
                            const std::vector<ChatTurn>& turns) {
  nlohmann::json imgs = nlohmann::json::array(), msgs = nlohmann::json::array();
  for (const auto& i : images) imgs.push_back(i.source);
  for (const auto& t : turns) {
    nlohmann::json m = {{"role", t.role}, {"text", t.text}};
    if (t.role == "user") m["images"] = t.images;
    if (t.stopped) m["stopped"] = true;
    msgs.push_back(std::move(m));
  }
  return {{"format", "setok-chat-1"}, {"model", model_dir}, {"images", imgs}, {"messages", msgs}};
}

void ChatSession::from_json(const nlohmann::json& j, const std::function<io::Image(const std::string&)>& load_image) {
  try {
    if (!j.is_object() || !j.contains("messages") || !j.at("messages").is_array())
      throw Error("not a saved conversation (no \"messages\" list)");
    std::vector<std::string> sources = j.value("images", std::vector<std::string>());
    std::vector<ChatTurn> turns;
    for (const auto& m : j.at("messages")) {
      ChatTurn t;
      t.role = m.at("role").get<std::string>();
      if (t.role != "user" && t.role != "assistant")
        throw Error("message role '" + t.role + "' is neither user nor assistant");
      t.text = m.at("text").get<std::string>();
      if (t.role == "user" && m.contains("images")) {
        // Also the CLI's older form: a count of images, taken in order.
        if (m["images"].is_number_integer()) {
          int first = 0;
          for (const auto& u : turns) first += static_cast<int>(u.images.size());
          for (int k = 0; k < m["images"].get<int>(); ++k) t.images.push_back(first + k);
        } else {
          t.images = m["images"].get<std::vector<int>>();
        }
      }
      t.stopped = m.value("stopped", false);
      if (impl_->domain && t.role == "user") t.unknown_words = impl_->domain->unknown_words(t.text);
      for (int i : t.images)
        if (i < 0 || static_cast<std::size_t>(i) >= sources.size())
          throw Error("a message names image " + std::to_string(i) + " of " + std::to_string(sources.size()));
      turns.push_back(std::move(t));
    }
    reset();
    for (const auto& src : sources) add_image(load_image(src), src);
    pending_.clear();
    turns_ = std::move(turns);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("saved conversation: ") + e.what());
  }
}

}  // namespace setok::mllm
