#pragma once
// A set of visual tokens that stands alone. Everything the detokenizer and SeTokim's language
// model read of an image is in it: each token's vector from the merger and its region descriptor
// (token_geometry.h: colour, place, size, box, silhouette), both computed once, when the image is
// tokenized. Drawing a set reads no pixel, so a set that was generated or edited is drawn the same
// way as one that came from an image (docs/design/generation.md).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "core/tokenizer/setok_model.h"

namespace setok::tokenizer {

struct TokenSet {
  at::Tensor vectors;           // [C, token_dim] float: the merger's tokens
  at::Tensor descriptors;       // [C, descriptor_dims] float: token_geometry of each token's region
  std::int64_t image_size = 0;  // side of the square picture the descriptors' coordinates refer to

  std::int64_t count() const { return vectors.defined() ? vectors.size(0) : 0; }
  std::int64_t token_dim() const { return vectors.defined() ? vectors.size(1) : 0; }
  std::int64_t descriptor_dims() const { return descriptors.defined() ? descriptors.size(1) : 0; }
  // Numbers per token: token_dim + descriptor_dims (the token's size; 2 bytes each in f16).
  std::int64_t width() const { return token_dim() + descriptor_dims(); }
  // [C, width]: vector then descriptor, what a generator writes one row at a time.
  at::Tensor packed() const;
  // The inverse of packed(): the first token_dim columns are the vector.
  static TokenSet unpack(const at::Tensor& packed, std::int64_t token_dim, std::int64_t image_size);
  // The same set with tokens `index` ([K] long) only, in that order.
  TokenSet select(const at::Tensor& index) const;
};

// Numbers per token in a descriptor that both `model`'s detokenizer and a reader of
// token_geometry with an appearance map of side `appearance` can use (kGeometryDims + N²).
std::int64_t descriptor_dims(const DetokenizerOptions& detokenizer, int appearance = 0);

// The token set of image 0 of tokenize(pixels)'s result `t` (pixels [B, 3, S, S] as the model
// preprocesses them): valid tokens only, descriptors with the appearance map of side `appearance`
// (or the detokenizer's own when that is 0).
TokenSet make_token_set(const SetokModelImpl& model, const at::Tensor& pixels, const Tokenized& t, int appearance = 0);

// The detokenizer's picture of a set, [1, 3, S, S] in the encoder's input space (about [-1, 1]).
// Reads the set only. Throws setok::Error when the set does not fit the model (token width,
// descriptor size) or is empty. `place_logits`, when given, receives each of the detokenizer's
// places' logits over the tokens, [G², C] (a broadcasting detokenizer's; undefined otherwise).
at::Tensor draw_token_set(SetokModelImpl& model, const TokenSet& set, at::Tensor* place_logits = nullptr);

// Files: safetensors with "vectors" and "descriptors" in f16 (2 bytes a number) and metadata
// format = "setok-tokens", image_size, token_dim, descriptor ("token_geometry"). Written atomically.
void save_token_set(const std::string& path, const TokenSet& set);
// Throws setok::Error with a one-line reason naming the file when it is not a token set.
TokenSet load_token_set(const std::string& path);

}  // namespace setok::tokenizer
