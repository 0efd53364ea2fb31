#pragma once
// How SeTokim is asked to edit an image, and how it answers (docs/design/editing.md):
//   USER: [Img] s1 … sC [/Img]\nEdit the image: {instruction}\n
//   ASSISTANT: keep keep change remove … [Img] n1 … nK [/Img]</s>
// The input's tokens come in writing order (generation_request.h). The answer first says, one word
// per input token in that order, whether the edit keeps it (copied bit for bit), changes it or
// removes it; then it writes the new tokens — the changed ones' replacements and any added ones —
// one at a time, as a generated image's (image_writer.h), and ends them itself.
#include <string>
#include <vector>

namespace setok::mllm {

enum class TokenEdit { kKeep = 0, kChange = 1, kRemove = 2 };
inline constexpr int kTokenEdits = 3;

// "keep", "change", "remove".
const char* token_edit_word(TokenEdit e);

std::string edit_request(const std::string& instruction);
// The request with the instruction replaced by the null prompt [Null] (guidance's unconditional case:
// the input image stays).
std::string null_edit_request();

// The answer's words before its image, each followed by a space: "keep change " (empty for none).
std::string edit_status_text(const std::vector<TokenEdit>& status);
// The whole answer's text: the words, then the image delimiters.
std::string edit_answer(const std::vector<TokenEdit>& status);

}  // namespace setok::mllm
