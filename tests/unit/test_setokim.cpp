// SeTokim's assembly: visual tokens from each connector, their place between [Img] and [/Img], and
// the folder format with LLaVA/HF names.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdint>
#include <vector>

#include "core/mllm/setokim.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setokim.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::mllm;
using setok::test::image;
using setok::test::tiny;

TEST(Setokim, EachConnectorGivesTokensAndTheirPatchMap) {
  c10::InferenceMode g;
  for (Connector c : {Connector::kSetok, Connector::kPatchMlp, Connector::kFixedK}) {
    SCOPED_TRACE(to_string(c));
    at::manual_seed(0);
    Setokim m(tiny(c));
    m->eval();
    VisualTokens v = m->encode_image(image());
    ASSERT_EQ(v.embeds.dim(), 2);
    EXPECT_EQ(v.embeds.size(1), 32);
    EXPECT_EQ(v.assignment.numel(), 64);  // 8 × 8 patches
    EXPECT_EQ(v.assignment.max().item<std::int64_t>(), v.count() - 1);
    EXPECT_GE(v.assignment.min().item<std::int64_t>(), 0);
    if (c == Connector::kPatchMlp) {
      EXPECT_EQ(v.count(), 64);
    }
    if (c == Connector::kFixedK) {
      EXPECT_EQ(v.count(), 5);
    }
    if (c == Connector::kSetok) {
      EXPECT_GE(v.count(), 1);
      EXPECT_LE(v.count(), 6);
    }
  }
  EXPECT_THROW(parse_connector("qformer"), Error);
}

// Training with a learning vision side tokenizes a whole batch at once: each image must come out
// as it does alone (its own clusters, its own count), for every connector.
TEST(Setokim, ABatchOfImagesGivesEachImageItsOwnTokens) {
  c10::InferenceMode g;
  test::ToyScenes d(4);
  at::Tensor batch = at::stack({d.get(0).pixels, d.get(1).pixels, d.get(2).pixels});
  for (Connector c : {Connector::kSetok, Connector::kPatchMlp, Connector::kFixedK}) {
    SCOPED_TRACE(to_string(c));
    at::manual_seed(0);
    Setokim m(tiny(c));
    m->eval();
    std::vector<VisualTokens> all = m->visual_tokens_batch(batch);
    ASSERT_EQ(all.size(), 3u);
    for (std::int64_t b = 0; b < 3; ++b) {
      VisualTokens one = m->visual_tokens(batch.narrow(0, b, 1));
      ASSERT_EQ(all[b].count(), one.count());
      EXPECT_TRUE(at::allclose(all[b].embeds, one.embeds, 1e-4, 1e-5));
      EXPECT_TRUE(at::equal(all[b].assignment, one.assignment));
      EXPECT_EQ(all[b].grid_h, one.grid_h);
    }
  }
  EXPECT_THROW(Setokim(tiny(Connector::kSetok))->visual_tokens_batch(batch[0]), Error);
}

TEST(Setokim, PutsEachImageBetweenItsDelimiters) {
  c10::InferenceMode g;
  at::manual_seed(0);
  Setokim m(tiny(Connector::kFixedK));
  m->eval();
  VisualTokens a = m->encode_image(image());
  VisualTokens b = a;
  b.embeds = a.embeds.narrow(0, 0, 3) * 2;
  const std::int64_t B = 38, E = 39;
  std::vector<std::int64_t> ids{1, 5, B, E, 6, 7, B, E, 8};
  std::vector<ImageSpan> spans;
  at::Tensor x = m->embed_sequence(ids, B, E, {a, b}, &spans);
  ASSERT_EQ(x.size(1), 9 - 0 + 5 + 3);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].start, 3);
  EXPECT_EQ(spans[0].length, 5);
  EXPECT_EQ(spans[1].start, 3 + 5 + 4);
  EXPECT_EQ(spans[1].length, 3);
  at::Tensor text = m->language_model->embed(at::tensor(ids, at::kLong).view({1, -1}))[0];
  EXPECT_TRUE(at::equal(x[0][2], text[2]));                         // [Img]
  EXPECT_TRUE(at::equal(x[0].narrow(0, 3, 5), a.embeds));           // image 0
  EXPECT_TRUE(at::equal(x[0][8], text[3]));                         // [/Img]
  EXPECT_TRUE(at::equal(x[0].narrow(0, 12, 3), b.embeds));          // image 1
  EXPECT_TRUE(at::equal(x[0][15], text[7]));                        // second [/Img]
  EXPECT_TRUE(at::equal(x[0][16], text[8]));                        // last text token
  EXPECT_THROW(m->embed_sequence(ids, B, E, {a}), Error);           // too few images
  EXPECT_THROW(m->embed_sequence(ids, B, E, {a, b, a}), Error);     // too many
  EXPECT_THROW(m->embed_sequence({1, B, B, E}, B, E, {a}), Error);  // nested
  EXPECT_THROW(m->embed_sequence({1, E}, B, E, {a}), Error);        // unopened
}

TEST(Setokim, FolderUsesLlavaAndHuggingFaceNamesAndRoundTrips) {
  test::TempDir d;
  at::manual_seed(0);
  Setokim m(tiny(Connector::kSetok));
  m->eval();
  auto sd = nn::state_dict(*m);
  EXPECT_TRUE(sd.count("language_model.model.layers.0.self_attn.k_proj.weight"));
  EXPECT_TRUE(sd.count("language_model.lm_head.weight"));
  EXPECT_TRUE(sd.count("multi_modal_projector.linear_1.weight"));
  EXPECT_TRUE(sd.count("multi_modal_projector.linear_2.bias"));
  EXPECT_TRUE(sd.count("setok.vision_model.embeddings.patch_embedding.weight"));
  save_setokim(d / "m", m);
  Setokim l = load_setokim(d / "m");
  EXPECT_EQ(l->config().connector, Connector::kSetok);
  // "trained" is false for a fresh model and travels with the folder once a run sets it.
  EXPECT_FALSE(l->config().trained);
  m->set_trained(true);
  save_setokim(d / "trained", m);
  EXPECT_TRUE(load_setokim(d / "trained")->config().trained);
  c10::InferenceMode g;
  VisualTokens a = m->encode_image(image()), b = l->encode_image(image());
  EXPECT_TRUE(at::equal(a.embeds, b.embeds));
}
