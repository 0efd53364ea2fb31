#pragma once
// An edited picture as the users of image editors expect it: what the edit was not asked to change
// keeps the input's own pixels. The detokenizer draws a whole picture from the edited token set,
// and a picture drawn from tokens misses every detail by its own error (24 dB on the world's test
// split; far more on a photo, which it draws at 128 px). So the picture an edit gives takes the
// detokenizer's pixels only where the edit drew something: the regions of the tokens it changed or
// removed (in the input, at pixel edges, grown by one pixel of the tokenized picture for their
// soft borders) and the regions of the tokens it wrote (in the drawing); everywhere else, the
// input's pixels, at the input's own resolution (docs/design/editing.md).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/io/image.h"
#include "core/mllm/image_editor.h"

namespace setok::mllm {

struct EditComposite {
  io::Image picture;                // at the input's size
  std::vector<std::uint8_t> drawn;  // width × height: 1 where the picture is the detokenizer's
  double drawn_share() const;       // of the pixels
};

// `input`: the picture the edit read; `tokens`: its tokens as edit_image read them (writing order,
// with their patch assignment); `e`: the edit (with its place owners, EditedImage::place_owner).
EditComposite composite_edit(const io::Image& input, const VisualTokens& tokens, const EditedImage& e);

}  // namespace setok::mllm
