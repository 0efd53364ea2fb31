// SeTokim's assembly: visual tokens from each connector, their place between [Img] and [/Img], the
// folder format with LLaVA/HF names, and (with SentencePiece) the chat template's loss mask.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/mllm/chat_template.h"
#include "core/mllm/setokim.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::mllm;

namespace {
SetokimConfig tiny(Connector c) {
  SetokimConfig s;
  s.vision = test::ToyScenes::tiny_model();
  s.text.vocab_size = 40;
  s.text.hidden_size = 32;
  s.text.intermediate_size = 64;
  s.text.num_hidden_layers = 1;
  s.text.num_attention_heads = 4;
  s.text.num_key_value_heads = 2;
  s.connector = c;
  s.fixed_k = 5;
  return s;
}
at::Tensor image() {
  test::ToyScenes d(4);
  return d.get(1).pixels.unsqueeze(0);
}
}  // namespace

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

// Training's prompt dropping: the suffix goes from user turns that end with it, nowhere else.
TEST(ChatTemplate, DropsAUserSuffixOnlyWhereItEndsTheTurn) {
  const std::string suffix = "Answer with a single word or number.";
  std::vector<ChatMessage> chat = {{"system", "Be brief. " + suffix, 0},
                                   {"user", "How many stars are there? " + suffix, 1},
                                   {"assistant", "2 " + suffix, 0},
                                   {"user", suffix + " What colour is the ring?", 0},
                                   {"user", "Is there a ring?\n" + suffix, 0}};
  auto out = without_user_suffix(chat, suffix);
  ASSERT_EQ(out.size(), chat.size());
  EXPECT_EQ(out[0].text, chat[0].text);  // not a user turn
  EXPECT_EQ(out[1].text, "How many stars are there?");
  EXPECT_EQ(out[1].images, 1);
  EXPECT_EQ(out[2].text, chat[2].text);  // the answer keeps it
  EXPECT_EQ(out[3].text, chat[3].text);  // not at the end
  EXPECT_EQ(out[4].text, "Is there a ring?");
  EXPECT_EQ(without_user_suffix(chat, "")[1].text, chat[1].text);
}

TEST(ChatTemplate, RewritesQuestionsRuleByRuleWithTheChoicesPicked) {
  const std::vector<TextRewrite> rules = {{"in the picture", {"in the picture", "here", "in the scene"}},
                                          {"Answer with a single word or number.", {"Answer in one word.", ""}},
                                          {"nowhere", {"x"}},
                                          {"ring", {}}};  // no choices: skipped
  std::vector<ChatMessage> chat = {{"system", "Is there a star in the picture?", 0},
                                   {"user", "Is there a ring in the picture? Answer with a single word or number.", 1},
                                   {"assistant", "yes, in the picture", 0},
                                   {"user", "How many rings are in the picture? In the picture, count.", 0}};
  std::vector<std::size_t> asked;  // the sizes pick was called with
  std::vector<std::size_t> answers = {2, 0, 1};
  std::size_t next = 0;
  auto out = rewrite_user_text(chat, rules, [&](std::size_t n) {
    asked.push_back(n);
    return answers[next++];
  });
  ASSERT_EQ(out.size(), chat.size());
  EXPECT_EQ(out[0].text, chat[0].text);  // not a user turn
  EXPECT_EQ(out[1].text, "Is there a ring in the scene? Answer in one word.");
  EXPECT_EQ(out[1].images, 1);
  EXPECT_EQ(out[2].text, chat[2].text);                                       // answers keep their words
  EXPECT_EQ(out[3].text, "How many rings are here? In the picture, count.");  // the first occurrence only
  EXPECT_EQ(asked, (std::vector<std::size_t>{3, 2, 3}));                      // only rules that matched drew
  EXPECT_THROW(rewrite_user_text(chat, rules, [](std::size_t n) { return n; }), Error);
}

#ifdef SETOK_HAVE_SENTENCEPIECE
TEST(ChatTemplate, LossCoversAnswersAndTheirEndOnly) {
  test::TempDir d;
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: how many objects are there? ASSISTANT: there are " + std::to_string(i % 7) +
                   " objects, a red star and a blue ring.");
  llm::TextTokenizer::train(text, d / "sp", 400);
  llm::TextTokenizer tok = llm::TextTokenizer::load(d / "sp.model");
  std::vector<ChatMessage> chat{{"system", "You describe scenes.", 0},
                                {"user", "how many objects are there?", 2},
                                {"assistant", "there are 3 objects", 0},
                                {"user", "what colour is the star?", 0},
                                {"assistant", "red", 0}};
  EncodedChat e = encode_chat(tok, chat, false);
  ASSERT_EQ(e.ids.size(), e.loss.size());
  EXPECT_EQ(e.ids.front(), tok.bos_id());
  EXPECT_EQ(e.images, 2);
  EXPECT_EQ(std::count(e.ids.begin(), e.ids.end(), tok.img_begin_id()), 2);
  std::vector<std::int64_t> targets;
  for (std::size_t i = 0; i < e.ids.size(); ++i)
    if (e.loss[i]) targets.push_back(e.ids[i]);
  EXPECT_EQ(std::count(targets.begin(), targets.end(), tok.eos_id()), 2);
  EXPECT_EQ(tok.decode(targets), " there are 3 objects red");
  EXPECT_EQ(tok.decode(e.ids),
            "You describe scenes.\nUSER:\nhow many objects are there?\nASSISTANT: there are 3 "
            "objects\nUSER:\nwhat colour is the star?\nASSISTANT: red\n");
  EncodedChat g = encode_chat(tok, {chat[0], chat[1]}, true);
  EXPECT_EQ(tok.decode(g.ids).substr(tok.decode(g.ids).size() - 10), "ASSISTANT:");
  EXPECT_THROW(encode_chat(tok, {{"robot", "hi", 0}}, true), Error);
  EXPECT_THROW(encode_chat(tok, {{"assistant", "hi", 1}}, true), Error);
}
#endif

#ifdef SETOK_HAVE_SENTENCEPIECE
#include "core/mllm/chat_session.h"

namespace {
// A tiny untrained SeTokim with a trained text tokenizer in DIR/m; returns a 64 × 64 image for it.
io::Image toy_chat_model(const test::TempDir& d) {
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: what colour is the square? ASSISTANT: the square number " + std::to_string(i) + " is red.");
  std::filesystem::create_directories(d.path() / "m");
  llm::TextTokenizer::train(text, d / "m/tokenizer", 300);
  at::manual_seed(0);
  SetokimConfig cfg = tiny(Connector::kSetok);
  cfg.text.vocab_size = 320;
  Setokim m(cfg);
  save_setokim(d / "m", m);
  io::Image img;
  img.width = img.height = 64;
  at::Tensor px = (image()[0].permute({1, 2, 0}) * 0.5 + 0.5).mul(255).round().to(at::kByte).contiguous();
  img.rgb.assign(px.data_ptr<std::uint8_t>(), px.data_ptr<std::uint8_t>() + px.numel());
  return img;
}
}  // namespace

TEST(ChatSession, AsksStopsRegeneratesEditsAndRoundTripsThroughJson) {
  test::TempDir d;
  const io::Image img = toy_chat_model(d);
  ChatSession s(d / "m");
  ChatSampling greedy;
  greedy.max_tokens = 6;
  EXPECT_THROW(s.ask("", greedy), Error);  // nothing to ask
  const int i = s.add_image(img, "toy.png");
  EXPECT_EQ(i, 0);
  ASSERT_EQ(s.images().size(), 1u);
  EXPECT_EQ(s.images()[0].token_of_patch.size(), 64u);  // 8 × 8 patches
  const ChatTurn first = s.ask("what colour is the square?", greedy);
  ASSERT_EQ(s.turns().size(), 2u);
  EXPECT_EQ(s.turns()[0].images, std::vector<int>{0});
  EXPECT_TRUE(s.pending_images().empty());
  ASSERT_EQ(first.attention.size(), 1u);
  ASSERT_EQ(static_cast<int>(first.attention[0].size()), s.images()[0].tokens);
  float mass = 0;
  for (float w : first.attention[0]) mass += w;
  EXPECT_GT(mass, 0.0f);  // an untrained model still looks at the image a little
  EXPECT_LE(mass, 1.0001f);
  // Regenerate (greedy): the same answer, replacing the old one.
  EXPECT_EQ(s.regenerate(greedy).text, first.text);
  EXPECT_EQ(s.turns().size(), 2u);
  // Stop after the first piece: the turn keeps what came and says so.
  int pieces = 0;
  const ChatTurn& cut = s.ask("and the circle?", greedy, [&](const std::string&) { return ++pieces < 1; });
  EXPECT_TRUE(cut.stopped);
  EXPECT_EQ(s.turns().size(), 4u);
  // Edit the first question: everything after it goes, and it is answered again.
  s.edit(0, "what shape is it?", greedy);
  ASSERT_EQ(s.turns().size(), 2u);
  EXPECT_EQ(s.turns()[0].text, "what shape is it?");
  EXPECT_THROW(s.edit(1, "an answer is not a question", greedy), Error);
  // Save and open.
  nlohmann::json j = s.to_json();
  ChatSession t(d / "m");
  std::vector<std::string> loaded;
  t.from_json(j, [&](const std::string& src) {
    loaded.push_back(src);
    return img;
  });
  EXPECT_EQ(loaded, std::vector<std::string>{"toy.png"});
  ASSERT_EQ(t.turns().size(), 2u);
  EXPECT_EQ(t.turns()[1].text, s.turns()[1].text);
  EXPECT_EQ(t.to_json(), j);
  EXPECT_THROW(t.from_json(nlohmann::json{{"messages", {{{"role", "robot"}, {"text", "x"}}}}},
                           [&](const std::string&) { return img; }),
               Error);
}

// Weights apart from state: conversations over one loaded model keep their own images and turns,
// and answer as conversations with models of their own do.
TEST(ChatSession, ConversationsShareOneLoadedModel) {
  test::TempDir d;
  const io::Image img = toy_chat_model(d);
  ChatSampling greedy;
  greedy.max_tokens = 6;
  ChatSession alone(d / "m");
  alone.add_image(img, "toy.png");
  const std::string colour = alone.ask("what colour is the square?", greedy).text;
  const std::string shape = alone.ask("what shape is it?", greedy).text;

  const std::shared_ptr<const LoadedSetokim> shared = LoadedSetokim::load(d / "m");
  auto a = std::make_unique<ChatSession>(shared);
  ChatSession b(shared);
  EXPECT_EQ(a->model().get(), b.model().get());
  EXPECT_EQ(b.model_dir(), d / "m");
  a->add_image(img, "toy.png");
  b.add_image(img, "toy.png");
  EXPECT_EQ(a->ask("what colour is the square?", greedy).text, colour);
  EXPECT_EQ(b.ask("what colour is the square?", greedy).text, colour);
  EXPECT_EQ(a->ask("what shape is it?", greedy).text, shape);
  EXPECT_EQ(a->turns().size(), 4u);
  EXPECT_EQ(b.turns().size(), 2u);  // nothing of a's conversation in b's
  a.reset();                        // the model lives on while a conversation holds it
  EXPECT_EQ(b.ask("what shape is it?", greedy).text, shape);
  EXPECT_THROW(ChatSession(std::shared_ptr<const LoadedSetokim>()), Error);
}
#endif
