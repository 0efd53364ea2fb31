#include "core/mllm/chat_template.h"

#include "core/runtime/error.h"

namespace setok::mllm {

EncodedChat encode_chat(const llm::TextTokenizer& tok, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  EncodedChat out;
  auto add = [&](const std::vector<std::int64_t>& ids, bool target) {
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.loss.insert(out.loss.end(), ids.size(), target ? 1 : 0);
  };
  add({tok.bos_id()}, false);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.images < 0 || (m.images > 0 && m.role != "user")) throw Error("only user turns can hold images");
    if (m.role == "system") {
      if (i != 0) throw Error("the system message must come first");
      add(tok.encode(m.text + "\n"), false);
    } else if (m.role == "user") {
      add(tok.encode("USER:"), false);
      for (int k = 0; k < m.images; ++k) add({tok.img_begin_id(), tok.img_end_id()}, false);
      add(tok.encode("\n" + m.text + "\n"), false);
      out.images += m.images;
    } else if (m.role == "assistant") {
      add(tok.encode("ASSISTANT:"), false);
      add(tok.encode(" " + m.text), true);
      add({tok.eos_id()}, true);
      add(tok.encode("\n"), false);
    } else {
      throw Error("unknown chat role '" + m.role + "' (system, user or assistant)");
    }
  }
  if (add_generation_prompt) add(tok.encode("ASSISTANT:"), false);
  return out;
}

std::vector<ChatMessage> without_user_suffix(std::vector<ChatMessage> messages, const std::string& suffix) {
  if (suffix.empty()) return messages;
  for (auto& m : messages) {
    if (m.role != "user" || m.text.size() < suffix.size() ||
        m.text.compare(m.text.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    m.text.resize(m.text.size() - suffix.size());
    while (!m.text.empty() && (m.text.back() == ' ' || m.text.back() == '\n')) m.text.pop_back();
  }
  return messages;
}

std::vector<ChatMessage> rewrite_user_text(std::vector<ChatMessage> messages, const std::vector<TextRewrite>& rules,
                                           const std::function<std::size_t(std::size_t)>& pick) {
  for (auto& m : messages) {
    if (m.role != "user") continue;
    for (const TextRewrite& r : rules) {
      if (r.from.empty() || r.to.empty()) continue;
      const std::size_t at = m.text.find(r.from);
      if (at == std::string::npos) continue;
      const std::size_t k = pick(r.to.size());
      if (k >= r.to.size()) throw Error("rewrite_user_text: a choice out of range");
      m.text.replace(at, r.from.size(), r.to[k]);
    }
  }
  return messages;
}

}  // namespace setok::mllm
