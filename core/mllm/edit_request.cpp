#include "core/mllm/edit_request.h"

#include "core/llm/text_tokenizer.h"

namespace setok::mllm {

const char* token_edit_word(TokenEdit e) {
  switch (e) {
    case TokenEdit::kKeep:
      return "keep";
    case TokenEdit::kChange:
      return "change";
    case TokenEdit::kRemove:
      return "remove";
  }
  return "keep";
}

std::string edit_request(const std::string& instruction) { return "Edit the image: " + instruction; }

std::string null_edit_request() { return edit_request(llm::kNull); }

std::string edit_status_text(const std::vector<TokenEdit>& status) {
  std::string s;
  for (TokenEdit e : status) s += std::string(token_edit_word(e)) + " ";
  return s;
}

std::string edit_answer(const std::vector<TokenEdit>& status) { return edit_status_text(status) + "[Img][/Img]"; }

}  // namespace setok::mllm
