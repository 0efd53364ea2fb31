#include "core/mllm/edit_composite.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/runtime/error.h"
#include "core/tokenizer/token_overlay.h"

namespace setok::mllm {
namespace {

std::vector<std::int32_t> int_grid(const at::Tensor& t) {
  const at::Tensor g = t.to(at::kCPU, at::kInt).contiguous();
  return {g.data_ptr<std::int32_t>(), g.data_ptr<std::int32_t>() + g.numel()};
}

// 1 within `r` pixels (a square) of a 1 of `m` (w × h): a row pass, then a column pass.
std::vector<std::uint8_t> grown(const std::vector<std::uint8_t>& m, int w, int h, int r) {
  std::vector<std::uint8_t> rows(m.size(), 0), out(m.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (m[static_cast<std::size_t>(y) * w + x])
        for (int dx = std::max(0, x - r); dx <= std::min(w - 1, x + r); ++dx)
          rows[static_cast<std::size_t>(y) * w + dx] = 1;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (rows[static_cast<std::size_t>(y) * w + x])
        for (int dy = std::max(0, y - r); dy <= std::min(h - 1, y + r); ++dy)
          out[static_cast<std::size_t>(dy) * w + x] = 1;
  return out;
}

// 1 where a token the edit changed or removed held the pixel (the input's tokens at pixel edges),
// grown by `r` pixels.
std::vector<std::uint8_t> dropped_pixels(const io::Image& input, const VisualTokens& tokens, const EditedImage& e,
                                         int r) {
  const std::vector<std::int32_t> owner = tokenizer::refine_token_map(
      input, int_grid(tokens.assignment), static_cast<int>(tokens.grid_h), static_cast<int>(tokens.grid_w));
  std::vector<std::uint8_t> m(owner.size(), 0);
  for (std::size_t p = 0; p < owner.size(); ++p) {
    const auto k = static_cast<std::size_t>(owner[p]);
    if (owner[p] >= 0 && k < e.status.size() && e.status[k] != TokenEdit::kKeep) m[p] = 1;
  }
  return grown(m, input.width, input.height, r);
}

// 1 where the drawing `drawn` belongs to a written token (the detokenizer's places, at pixel edges).
// Every pixel when the places are unknown.
std::vector<std::uint8_t> written_pixels(const io::Image& drawn, const EditedImage& e) {
  const std::size_t n = static_cast<std::size_t>(drawn.width) * drawn.height;
  if (e.written.count() == 0) return std::vector<std::uint8_t>(n, 0);
  if (!e.place_owner.defined()) return std::vector<std::uint8_t>(n, 1);
  const int g = static_cast<int>(std::lround(std::sqrt(static_cast<double>(e.place_owner.numel()))));
  const std::vector<std::int32_t> owner = tokenizer::refine_token_map(drawn, int_grid(e.place_owner), g, g);
  const std::int64_t kept = e.tokens.count() - e.written.count();
  std::vector<std::uint8_t> m(n, 0);
  for (std::size_t p = 0; p < n; ++p) m[p] = owner[p] >= kept ? 1 : 0;
  return m;
}

}  // namespace

double EditComposite::drawn_share() const {
  if (drawn.empty()) return 0;
  return static_cast<double>(std::count(drawn.begin(), drawn.end(), std::uint8_t{1})) /
         static_cast<double>(drawn.size());
}

EditComposite composite_edit(const io::Image& input, const VisualTokens& tokens, const EditedImage& e) {
  if (input.empty()) throw Error("the edit's input picture is empty");
  if (!e.pixels.defined() || e.pixels.dim() != 4) throw Error("the edit has no picture");
  if (static_cast<std::int64_t>(e.status.size()) != tokens.count())
    throw Error("the edit does not belong to these tokens");
  const int w = input.width, h = input.height;
  const double side = static_cast<double>(e.pixels.size(3));  // the tokenized picture's
  const int r = std::max(1, static_cast<int>(std::ceil(std::max(w, h) / side)));
  EditComposite out;
  out.picture = edited_picture(e, w, h);
  out.drawn = dropped_pixels(input, tokens, e, r);
  const std::vector<std::uint8_t> written = written_pixels(out.picture, e);
  for (std::size_t p = 0; p < out.drawn.size(); ++p) {
    out.drawn[p] = out.drawn[p] | written[p];
    if (out.drawn[p]) continue;
    for (int c = 0; c < 3; ++c) out.picture.rgb[3 * p + c] = input.rgb[3 * p + c];
  }
  return out;
}

}  // namespace setok::mllm
