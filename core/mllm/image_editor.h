#pragma once
// SeTokim edits an image (§2.2, issue: editing keeps what it was not asked to change): it reads the
// image's tokens and the instruction, says for each token whether the edit keeps, changes or
// removes it (core/mllm/edit_request.h), then writes the new tokens one at a time as it writes a
// generated image's (image_writer.h). The edited set is the kept tokens, copied bit for bit, and the
// written ones; the detokenizer draws it from the set alone.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "core/io/image.h"
#include "core/mllm/edit_request.h"
#include "core/mllm/image_writer.h"

namespace setok::mllm {

struct ImageEditing {
  ImageWriting writing;  // seed, guidance, steps, temperature; max_tokens: new tokens at most
  // [C] bool over the input's tokens (writing order): only these may change or go; the others are
  // kept whatever the model says. Undefined: every token may.
  at::Tensor region;
  // A baseline, not an edit: every token is regenerated (none is copied).
  bool regenerate_all = false;
  // edit_picture: the whole picture as the detokenizer draws the edited set, instead of the input's
  // own pixels wherever the edit drew nothing (edit_composite.h).
  bool whole_picture = false;
};

struct EditedImage {
  std::vector<TokenEdit> status;  // one per input token, writing order
  tokenizer::TokenSet written;    // the new tokens, in the order written
  tokenizer::TokenSet tokens;     // the edited set: the kept input tokens (in order), then the written ones
  at::Tensor pixels;              // [1, 3, S, S] the detokenizer's picture of `tokens`, about [-1, 1]
  at::Tensor place_owner;         // [G²] long: the token of `tokens` each of the detokenizer's places weighs most
  bool finished = false;          // the model ended the new tokens itself
  double lm_ms = 0, head_ms = 0, draw_ms = 0;
  std::vector<std::int64_t> indices(TokenEdit e) const;  // input tokens with that status
  // Written tokens beyond the changed ones' replacements.
  std::int64_t added() const;
  bool changes_nothing() const { return written.count() == 0 && indices(TokenEdit::kKeep).size() == status.size(); }
};

// `input`: the image's raw visual tokens in writing order (in_generation_order). progress(new tokens
// written) may return false to stop (throws setok::Error "cancelled").
EditedImage edit_image(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                       const VisualTokens& input, const std::string& instruction, const ImageEditing& options,
                       const std::function<bool(std::int64_t)>& progress = nullptr);

struct PictureEdit {
  EditedImage edit;
  io::Image picture;         // at the input's size
  double drawn_share = 1.0;  // of its pixels, the detokenizer's (the others are the input's own)
};

// An edit of a picture as the tools run it (`setok edit`, the engine): its tokens in writing order,
// the selection `mask` ([H, W] bool at the picture's size; undefined: none) turned into the tokens
// under it, then edit_image, then the picture: the input's pixels wherever the edit drew nothing
// (composite_edit), or the whole drawing with options.whole_picture. An edit that keeps every token
// and writes none is refused: throws setok::Error "the instruction changes nothing in this picture".
PictureEdit edit_picture(SetokimImpl& model, heads::DiffusionHeadImpl& head, const llm::TextTokenizer& tok,
                         const io::Image& picture, const std::string& instruction, ImageEditing options,
                         const at::Tensor& mask = {}, const std::function<bool(std::int64_t)>& progress = nullptr);

// The edited picture at a size (the input image's): the detokenizer's picture, resized bilinearly
// when it was drawn at another.
io::Image edited_picture(const EditedImage& e, int width, int height);

// The tokens a selection covers: mask [H, W] (bool, at the tokenized picture's size) holds at least
// a quarter of the token's region, or the token holds at least half of the mask. [C] bool.
at::Tensor tokens_under_mask(const VisualTokens& input, const at::Tensor& mask);

}  // namespace setok::mllm
