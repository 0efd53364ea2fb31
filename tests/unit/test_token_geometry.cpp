// Token geometry: each token's region described (colour, place, box, silhouette, appearance), and
// SeTokim's geometry and appearance inputs, silent until they learn and kept by the folder.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/mllm/setokim.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setokim.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::mllm;
using setok::test::image;
using setok::test::tiny;

// A 16 × 16 image on a 2 × 2 grid of 8-pixel patches: token 1 is the top-right patch (one colour),
// token 0 the other three (an L), token 2 has no patch.
TEST(TokenGeometry, DescribesEachTokensRegion) {
  at::Tensor px = at::zeros({3, 16, 16});
  px.select(0, 0).narrow(0, 0, 8).narrow(1, 8, 8).fill_(0.5);
  px.select(0, 1).narrow(0, 0, 8).narrow(1, 8, 8).fill_(-0.5);
  px.select(0, 2).narrow(0, 0, 8).narrow(1, 8, 8).fill_(1.0);
  px.select(0, 0)[15][0] = 1.0;  // one odd pixel in token 0: moves its mean, not its colour
  at::Tensor assign = at::tensor({0, 1, 0, 0}, at::kLong);
  at::Tensor g = token_geometry(px, assign, 3, 2, 2);
  ASSERT_EQ(g.sizes(), (at::IntArrayRef{3, kGeometryDims}));
  auto near = [](const at::Tensor& a, std::vector<float> b) { return at::allclose(a, at::tensor(b), 1e-5, 1e-5); };
  // Token 1: colour, no spread of colour, centre of the top-right quarter, area 1/4, its box, full.
  EXPECT_TRUE(near(g[1].narrow(0, 0, 3), {0.5f, -0.5f, 1.0f}));                      // mean
  EXPECT_TRUE(near(g[1].narrow(0, 3, 3), {0.5f, -0.5f, 1.0f}));                      // object colour
  EXPECT_TRUE(near(g[1].narrow(0, 6, 3), {0.f, 0.f, 0.f}));                          // standard deviation
  EXPECT_TRUE(near(g[1].narrow(0, 9, 2), {0.5f, -0.5f}));                            // centroid x, y
  EXPECT_NEAR(g[1][13].item<float>(), 0.5f, 1e-6);                                   // sqrt(1/4)
  EXPECT_TRUE(near(g[1].narrow(0, 14, 4), {0.0625f, -0.9375f, 0.9375f, -0.0625f}));  // box
  EXPECT_NEAR(g[1][18].item<float>(), 1.0f, 1e-6);                                   // fill
  // ... its edge has its own colour (nothing stands out), all its pixels share it: a full square.
  EXPECT_TRUE(near(g[1].narrow(0, 19, 3), {0.5f, -0.5f, 1.0f}));
  EXPECT_TRUE(near(g[1].narrow(0, 22, 4), {0.0f, 1.0f, 0.0f, 1.0f}));
  EXPECT_TRUE(near(g[1].narrow(0, 26, 64), std::vector<float>(64, 1.0f)));
  // Token 0: the L of three quarters; its box is the whole image. One pixel stands out from its
  // edge's colour, too few to be an object; that pixel leaves the silhouette (whose bottom-left
  // cell, 2 × 2 pixels, is 3/4 full).
  EXPECT_NEAR(g[0][0].item<float>(), 1.0f / 192, 1e-6);
  EXPECT_NEAR(g[0][3].item<float>(), 0.0f, 1e-6);
  EXPECT_NEAR(g[0][13].item<float>(), std::sqrt(0.75f), 1e-6);
  EXPECT_NEAR(g[0][18].item<float>(), 0.75f, 1e-6);
  EXPECT_TRUE(near(g[0].narrow(0, 9, 2), {-1.0f / 6, 1.0f / 6}));  // mean of the three quarters' centres
  EXPECT_TRUE(near(g[0].narrow(0, 19, 3), {0.0f, 0.0f, 0.0f}));
  EXPECT_TRUE(near(g[0].narrow(0, 22, 4), {1.0f / 192, 191.0f / 192, 0.0f, 191.0f / 256}));
  std::vector<float> sil(64, 1.0f);
  for (int r = 0; r < 4; ++r)
    for (int c = 4; c < 8; ++c) sil[r * 8 + c] = 0.0f;
  sil[7 * 8 + 0] = 0.75f;
  EXPECT_TRUE(near(g[0].narrow(0, 26, 64), sil));
  // Token 2: nothing.
  EXPECT_EQ(g[2].abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(token_geometry(px, at::tensor({0, 1, 0}, at::kLong), 3, 2, 2), Error);
}

// A small object inside a token's region, which is mostly background: the descriptor gives the
// object's colour and silhouette, not the background's.
TEST(TokenGeometry, FindsTheObjectInARegionOfMostlyBackground) {
  at::Tensor px = at::full({3, 16, 16}, -0.6);
  px.select(0, 0).narrow(0, 4, 6).narrow(1, 5, 3).fill_(0.9);  // a red bar, 6 high and 3 wide
  px.select(0, 1).narrow(0, 4, 6).narrow(1, 5, 3).fill_(-0.8);
  px.select(0, 2).narrow(0, 4, 6).narrow(1, 5, 3).fill_(-0.8);
  at::Tensor g = token_geometry(px, at::zeros({4}, at::kLong), 1, 2, 2)[0];
  auto near = [](const at::Tensor& a, std::vector<float> b) { return at::allclose(a, at::tensor(b), 1e-5, 1e-5); };
  EXPECT_TRUE(near(g.narrow(0, 3, 3), {0.9f, -0.8f, -0.8f}));    // the object's colour
  EXPECT_TRUE(near(g.narrow(0, 19, 3), {-0.6f, -0.6f, -0.6f}));  // around it
  EXPECT_TRUE(near(g.narrow(0, 22, 4), {18.0f / 256, 18.0f / 256, std::log(2.0f), 1.0f}));
  EXPECT_TRUE(near(g.narrow(0, 26, 64), std::vector<float>(64, 1.0f)));
}

// The appearance map: a red object on grey (rows 4–11, columns 0–7) whose two right columns are
// shaded halfway to the grey (like a garment's fold), and whose top-left 2 × 2 corner is cut out:
// the map, over the object's 8 × 8 box in 2 × 2 cells, reads 1 where lit, 0.5 where shaded, 0 at
// the cut corner; the first 90 numbers are the plain descriptor's.
TEST(TokenGeometry, AppearanceMapsTheObjectsShadingInItsBox) {
  at::Tensor px = at::full({3, 16, 16}, -0.6);
  const std::vector<float> red = {0.9f, -0.8f, -0.8f};
  for (int ch = 0; ch < 3; ++ch) {
    px[ch].narrow(0, 4, 8).narrow(1, 0, 6).fill_(red[ch]);                   // lit
    px[ch].narrow(0, 4, 8).narrow(1, 6, 2).fill_(0.5f * (red[ch] + -0.6f));  // shaded
    px[ch].narrow(0, 4, 2).narrow(1, 0, 2).fill_(-0.6f);                     // cut corner
  }
  const at::Tensor assign = at::zeros({4}, at::kLong);
  at::Tensor plain = token_geometry(px, assign, 1, 2, 2);
  at::Tensor g = token_geometry(px, assign, 1, 2, 2, 4);
  ASSERT_EQ(g.sizes(), (at::IntArrayRef{1, kGeometryDims + 16}));
  EXPECT_TRUE(at::equal(g.narrow(1, 0, kGeometryDims), plain));
  EXPECT_TRUE(at::allclose(g[0].narrow(0, 3, 3), at::tensor(red), 1e-5, 1e-5));  // the object's colour
  std::vector<float> want(16);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) want[r * 4 + c] = c < 3 ? 1.0f : 0.5f;
  want[0] = 0.0f;
  EXPECT_TRUE(at::allclose(g[0].narrow(0, kGeometryDims, 16), at::tensor(want), 1e-4, 1e-4))
      << g[0].narrow(0, kGeometryDims, 16).view({4, 4});
  // Split into two tokens, the object's (the left half and the bottom right) keeps its map, and a
  // token of background only (the top right: nothing stands out from its edge) has an empty one.
  at::Tensor two = token_geometry(px, at::tensor({0, 1, 0, 0}, at::kLong), 2, 2, 2, 4);
  EXPECT_TRUE(at::allclose(two[0].narrow(0, kGeometryDims, 16), at::tensor(want), 1e-4, 1e-4));
  EXPECT_EQ(two[1].narrow(0, kGeometryDims, 16).abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(token_geometry(px, assign, 1, 2, 2, 33), Error);
  EXPECT_THROW(token_geometry(px, assign, 1, 2, 2, -1), Error);
}

// Appearance on a model with geometry: silent until it learns, kept by the folder, refused twice
// or without geometry; the projector refuses tokens of the wrong descriptor size.
TEST(TokenGeometry, AppearanceStartsSilentAndRoundTrips) {
  test::TempDir d;
  at::manual_seed(0);
  Setokim m(tiny(Connector::kSetok));
  m->eval();
  EXPECT_THROW(m->add_token_appearance(8), Error);  // no geometry yet
  m->add_token_geometry();
  {
    at::NoGradGuard ng;
    m->multi_modal_projector->geometry->weight.normal_();
  }
  at::Tensor before;
  {
    c10::InferenceMode g;
    before = m->encode_image(image()).embeds;
  }
  EXPECT_THROW(m->add_token_appearance(3), Error);
  m->add_token_appearance(8);
  EXPECT_THROW(m->add_token_appearance(8), Error);
  EXPECT_EQ(m->config().token_appearance, 8);
  VisualTokens raw;
  {
    at::NoGradGuard g;
    raw = m->visual_tokens(image());
    ASSERT_EQ(raw.geometry.size(1), kGeometryDims + 64);
    EXPECT_TRUE(at::equal(m->project(raw).embeds, before));
  }
  m->project(raw).embeds.pow(2).sum().backward();
  EXPECT_GT(m->multi_modal_projector->appearance->weight.grad().abs().sum().item<float>(), 0.0f);
  {
    at::NoGradGuard ng;
    m->multi_modal_projector->appearance->weight.normal_();
  }
  c10::InferenceMode g;
  at::Tensor after = m->encode_image(image()).embeds;
  EXPECT_FALSE(at::allclose(after, before));
  save_setokim(d / "m", m);
  Setokim l = load_setokim(d / "m");
  EXPECT_EQ(l->config().token_appearance, 8);
  EXPECT_TRUE(at::allclose(l->encode_image(image()).embeds, after, 1e-6, 1e-6));
  VisualTokens short_g = l->visual_tokens(image());
  short_g.geometry = short_g.geometry.narrow(1, 0, kGeometryDims);
  EXPECT_THROW(l->project(short_g), Error);
  // A config asking for appearance without geometry, or of a size out of range, is refused.
  nlohmann::json bad = l->config().to_json();
  bad["token_appearance"] = 2;
  EXPECT_THROW(SetokimConfig::from_json(bad), Error);
  bad["token_appearance"] = 8;
  bad["token_geometry"] = false;
  EXPECT_THROW(SetokimConfig::from_json(bad), Error);
}

// Turning geometry on for a trained model changes nothing until it learns; the folder keeps it.
TEST(TokenGeometry, StartsSilentLearnsAndRoundTrips) {
  test::TempDir d;
  at::manual_seed(0);
  Setokim m(tiny(Connector::kSetok));
  m->eval();
  at::Tensor before, after;
  {
    c10::InferenceMode g;
    before = m->encode_image(image()).embeds;
  }
  m->add_token_geometry();
  EXPECT_THROW(m->add_token_geometry(), Error);
  EXPECT_TRUE(m->config().token_geometry);
  VisualTokens raw;
  {
    at::NoGradGuard g;  // as training's token cache: no inference tensors, which autograd refuses
    raw = m->visual_tokens(image());
    ASSERT_TRUE(raw.geometry.defined());
    EXPECT_EQ(raw.geometry.size(0), raw.count());
    EXPECT_TRUE(at::equal(m->project(raw).embeds, before));
  }
  // The new layer gets a gradient (zero weights, non-zero input).
  at::Tensor loss = m->project(raw).embeds.pow(2).sum();
  loss.backward();
  EXPECT_GT(m->multi_modal_projector->geometry->weight.grad().abs().sum().item<float>(), 0.0f);
  {
    at::NoGradGuard ng;
    m->multi_modal_projector->geometry->weight.normal_();
  }
  c10::InferenceMode g;
  after = m->encode_image(image()).embeds;
  EXPECT_FALSE(at::allclose(after, before));
  save_setokim(d / "m", m);
  Setokim l = load_setokim(d / "m");
  EXPECT_TRUE(l->config().token_geometry);
  EXPECT_TRUE(at::allclose(l->encode_image(image()).embeds, after, 1e-6, 1e-6));
  VisualTokens bare = l->visual_tokens(image());
  bare.geometry = at::Tensor();
  EXPECT_THROW(l->project(bare), Error);
}
