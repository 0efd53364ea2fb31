#pragma once
// SeTokim's chat template (Vicuna's, with images):
//
//   <s>{system}\n
//   USER: [Img]…[/Img][Img]…[/Img]\n{question}\n
//   ASSISTANT: {answer}</s>\n
//   USER: …
//
// The images of a user turn come first, one [Img] [/Img] pair each, then a newline and the text.
// Each segment is tokenized on its own, so a turn's tokens do not depend on its neighbours; the
// training loss covers the assistant's answer tokens and its </s> only.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/llm/text_tokenizer.h"

namespace setok::mllm {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string text;
  int images = 0;  // user turns: how many images lead the turn
};

struct EncodedChat {
  std::vector<std::int64_t> ids;
  std::vector<std::uint8_t> loss;  // 1 where the token is a target (answers and their </s>)
  int images = 0;
};

// add_generation_prompt: end with "ASSISTANT:" for the model to continue. Throws on an unknown role
// or images in a non-user turn.
EncodedChat encode_chat(const llm::TextTokenizer& tok, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt);

// The messages with `suffix` (and the spaces before it) cut from the end of each user turn that ends
// with it; others unchanged. Training uses it to drop a fixed prompt ("Answer with a single word or
// number.") from some questions, so the model also answers them asked plainly.
std::vector<ChatMessage> without_user_suffix(std::vector<ChatMessage> messages, const std::string& suffix);

// A paraphrase rule: `from` in a question may be replaced by any of `to` (which may list `from`
// itself, to keep it as one of the choices).
struct TextRewrite {
  std::string from;
  std::vector<std::string> to;
};

// The messages with each rule applied in order to every user turn that contains its `from`: the
// first occurrence is replaced by rule.to[pick(rule.to.size())] (pick returns an index below its
// argument; a rule with no `to` is skipped). Assistant and system turns are unchanged. Training
// uses it to vary the wording of the world's templated questions ("question_rewrites").
std::vector<ChatMessage> rewrite_user_text(std::vector<ChatMessage> messages, const std::vector<TextRewrite>& rules,
                                           const std::function<std::size_t(std::size_t)>& pick);

// What generation stops at besides </s>: the start of the next user turn.
inline const std::vector<std::string>& chat_stop_strings() {
  static const std::vector<std::string> s{"\nUSER:", "USER:"};
  return s;
}

}  // namespace setok::mllm
