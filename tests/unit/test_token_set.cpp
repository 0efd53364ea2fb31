// Token sets that stand alone: what the detokenizer draws from a set is what it draws from the
// image's tokens, the set survives its file, and a set that does not fit is refused.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <fstream>

#include "core/io/safetensors.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"
#include "core/tokenizer/token_set.h"
#include "tests/support/temp_dir.h"

using namespace setok::tokenizer;

namespace {

SetokModel model_with_regions(int appearance) {
  at::manual_seed(3);
  SetokConfig c = SetokConfig::small();
  c.detokenizer.broadcast(true).regions(true).region_appearance(appearance);
  SetokModel m(c);
  m->eval();
  return m;
}

}  // namespace

TEST(TokenSet, DrawsWhatTheImagesTokensDrawWithoutPixels) {
  SetokModel m = model_with_regions(0);
  c10::InferenceMode guard;
  at::Tensor px = at::rand({1, 3, 128, 128}) * 2 - 1;
  Tokenized t = m->tokenize(px);
  const TokenSet s = make_token_set(*m, px, t);
  const std::int64_t valid = t.clusters.token_valid[0].sum().item<std::int64_t>();
  ASSERT_EQ(s.count(), valid);
  EXPECT_EQ(s.token_dim(), 128);
  EXPECT_EQ(s.descriptor_dims(), kGeometryDims);
  EXPECT_EQ(s.width(), 128 + kGeometryDims);
  EXPECT_EQ(s.image_size, 128);
  // The set alone (valid tokens only, no pixels) gives the image-level reconstruction.
  EXPECT_TRUE(at::allclose(draw_token_set(*m, s), m->reconstruct(px, t), 1e-4, 1e-5));
  // Packing is lossless and a selection keeps rows in the order asked.
  const TokenSet back = TokenSet::unpack(s.packed(), 128, 128);
  EXPECT_TRUE(at::equal(back.vectors, s.vectors));
  EXPECT_TRUE(at::equal(back.descriptors, s.descriptors));
  const TokenSet first = s.select(at::zeros({1}, at::kLong));
  EXPECT_TRUE(at::equal(first.packed()[0], s.packed()[0]));
}

TEST(TokenSet, AppearanceMapsTravelWithTheToken) {
  SetokModel m = model_with_regions(4);
  c10::InferenceMode guard;
  at::Tensor px = at::rand({1, 3, 128, 128}) * 2 - 1;
  Tokenized t = m->tokenize(px);
  const TokenSet s = make_token_set(*m, px, t);
  EXPECT_EQ(s.descriptor_dims(), kGeometryDims + 16);
  EXPECT_EQ(descriptor_dims(m->detokenizer->options), kGeometryDims + 16);
  EXPECT_TRUE(at::allclose(draw_token_set(*m, s), m->reconstruct(px, t), 1e-4, 1e-5));
  // Another map size than the detokenizer reads is refused.
  EXPECT_THROW(make_token_set(*m, px, t, 8), setok::Error);
}

TEST(TokenSet, FileRoundTripIsF16AndDrawsTheSamePicture) {
  setok::test::TempDir d;
  SetokModel m = model_with_regions(0);
  c10::InferenceMode guard;
  at::Tensor px = at::rand({1, 3, 128, 128}) * 2 - 1;
  const TokenSet s = make_token_set(*m, px, m->tokenize(px));
  const std::string path = d / "tokens.safetensors";
  save_token_set(path, s);
  const TokenSet back = load_token_set(path);
  EXPECT_EQ(back.image_size, 128);
  EXPECT_TRUE(at::equal(back.packed(), s.packed().to(at::kHalf).to(at::kFloat)));
  EXPECT_LT((draw_token_set(*m, back) - draw_token_set(*m, s)).abs().max().item<double>(), 0.05);
}

TEST(TokenSet, RefusesSetsThatDoNotFitOrAreNotSets) {
  setok::test::TempDir d;
  SetokModel m = model_with_regions(0);
  c10::InferenceMode guard;
  TokenSet wrong;
  wrong.vectors = at::zeros({2, 64});
  wrong.descriptors = at::zeros({2, kGeometryDims});
  EXPECT_THROW(draw_token_set(*m, wrong), setok::Error);  // vectors of another width
  wrong.vectors = at::zeros({2, 128});
  wrong.descriptors = at::zeros({2, 10});
  EXPECT_THROW(draw_token_set(*m, wrong), setok::Error);  // descriptors too short
  EXPECT_THROW(draw_token_set(*m, TokenSet{}), setok::Error);
  EXPECT_THROW(save_token_set(d / "empty.safetensors", TokenSet{}), setok::Error);
  // Files: missing, not safetensors, safetensors of something else, NaN in the tokens.
  EXPECT_THROW(load_token_set(d / "missing.safetensors"), setok::Error);
  std::ofstream(d / "text.safetensors") << "not a token set";
  EXPECT_THROW(load_token_set(d / "text.safetensors"), setok::Error);
  setok::io::save_safetensors(d / "weights.safetensors", {{"w", at::zeros({2, 2})}});
  EXPECT_THROW(load_token_set(d / "weights.safetensors"), setok::Error);
  TokenSet nan;
  nan.vectors = at::full({1, 128}, NAN);
  nan.descriptors = at::zeros({1, kGeometryDims});
  nan.image_size = 128;
  save_token_set(d / "nan.safetensors", nan);
  try {
    load_token_set(d / "nan.safetensors");
    FAIL() << "loaded a set holding NaN";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}
