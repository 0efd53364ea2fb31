// SeTok end to end: config round trips, shapes, checkpoints.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_geometry.h"
#include "tests/support/temp_dir.h"

using namespace setok::tokenizer;

TEST(SetokConfig, JsonRoundTripAndValidation) {
  SetokConfig c = SetokConfig::small();
  c.cluster.max_tokens = 9;
  c.cluster.mode = ClusterMode::kSoft;
  SetokConfig r = SetokConfig::from_json(c.to_json());
  EXPECT_EQ(r.to_json(), c.to_json());
  nlohmann::json bad = c.to_json();
  bad["merger"]["dim_in"] = 7;
  EXPECT_THROW(SetokConfig::from_json(bad), setok::Error);
  bad = c.to_json();
  bad["model_type"] = "llama";
  EXPECT_THROW(SetokConfig::from_json(bad), setok::Error);
  bad = c.to_json();
  bad["cluster"]["max_tokens"] = "many";
  EXPECT_THROW(SetokConfig::from_json(bad), setok::Error);
}

TEST(SetokModel, TokenizesABatchAndReconstructsEveryTokenCount) {
  at::manual_seed(0);
  SetokModel m(SetokConfig::small());
  m->eval();
  c10::InferenceMode guard;
  at::Tensor px = at::rand({2, 3, 128, 128}) * 2 - 1;
  Tokenized t = m->tokenize(px);
  EXPECT_EQ(t.features.sizes().vec(), (std::vector<int64_t>{2, 256, 192}));
  EXPECT_EQ(t.grid_h, 16);
  const int64_t c = t.clusters.masks.size(2);
  EXPECT_LE(c, m->config().cluster.max_tokens);
  EXPECT_EQ(t.tokens.sizes().vec(), (std::vector<int64_t>{2, c, 128}));
  at::Tensor img = m->reconstruct(t.tokens, t.clusters.token_valid);
  EXPECT_EQ(img.sizes().vec(), (std::vector<int64_t>{2, 3, 128, 128}));
  EXPECT_TRUE(at::isfinite(img).all().item<bool>());
}

// Weights apart from state: a call's cluster settings are an argument, so calls with different
// settings, in any order, give what each gives alone, and the model's own settings stay as built.
TEST(SetokModel, ClusterSettingsArePerCallAndLeaveTheModelAsItWas) {
  at::manual_seed(0);
  SetokModel m(SetokConfig::small());
  m->eval();
  c10::InferenceMode guard;
  const at::Tensor px = at::rand({1, 3, 128, 128}) * 2 - 1;
  const nlohmann::json own = m->config().to_json();
  ClusterParams few = m->config().cluster, many = m->config().cluster;
  few.max_tokens = 2;
  many.max_tokens = 12;
  many.beta = 0.0f;
  const Tokenized a = m->tokenize(px, few), b = m->tokenize(px, many), c = m->tokenize(px, few);
  EXPECT_LE(a.clusters.masks.size(2), 2);
  EXPECT_TRUE(a.clusters.masks.equal(c.clusters.masks)) << "the call between changed nothing";
  EXPECT_FALSE(a.clusters.masks.sizes() == b.clusters.masks.sizes() && a.clusters.masks.equal(b.clusters.masks));
  // A before_cluster hook changes this call's settings only.
  const Tokenized hooked = m->tokenize(px, many, [&few](const at::Tensor&, ClusterParams& p) { p = few; });
  EXPECT_TRUE(hooked.clusters.masks.equal(a.clusters.masks));
  EXPECT_EQ(m->config().to_json(), own);
  EXPECT_TRUE(m->tokenize(px).clusters.masks.equal(m->tokenize(px, m->config().cluster).clusters.masks));
}

TEST(SetokModel, CheckpointRoundTripKeepsTokensAndHuggingFaceEncoderNames) {
  setok::test::TempDir d;
  at::manual_seed(1);
  SetokModel m(SetokConfig::small());
  m->eval();
  save_setok(d / "m", m);
  SetokModel r = load_setok(d / "m");
  auto names = setok::nn::state_dict(*r);
  EXPECT_TRUE(names.count("vision_model.embeddings.patch_embedding.weight"));
  EXPECT_TRUE(names.count("vision_model.encoder.layers.0.self_attn.q_proj.weight"));
  EXPECT_TRUE(names.count("cluster.log_bandwidth"));
  c10::InferenceMode guard;
  at::Tensor px = at::rand({1, 3, 128, 128}) * 2 - 1;
  Tokenized a = m->tokenize(px), b = r->tokenize(px);
  EXPECT_TRUE(a.clusters.masks.equal(b.clusters.masks));
  EXPECT_TRUE(at::allclose(a.tokens, b.tokens));
}

TEST(SetokModel, RefusesCheckpointsThatDoNotFit) {
  setok::test::TempDir d;
  SetokModel m(SetokConfig::small());
  save_setok(d / "m", m);
  nlohmann::json cfg = SetokConfig::small().to_json();
  cfg["merger"]["inner_layers"] = 3;  // the weights hold 2
  setok::test::write_bytes(d / "m/config.json", cfg.dump());
  try {
    load_setok(d / "m");
    FAIL() << "loaded weights that do not match the config";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("merger.inner.2"), std::string::npos) << e.what();
  }
}

TEST(SetokModel, RegionsAreEachTokensDescriptorAndReachTheDetokenizer) {
  at::manual_seed(2);
  SetokConfig c = SetokConfig::small();
  c.detokenizer.broadcast(true).regions(true).region_appearance(4);
  EXPECT_EQ(SetokConfig::from_json(c.to_json()).to_json(), c.to_json());
  SetokModel m(c);
  m->eval();
  c10::InferenceMode guard;
  at::Tensor px = at::rand({2, 3, 128, 128}) * 2 - 1;
  Tokenized t = m->tokenize(px);
  at::Tensor r = m->regions(px, t);
  const int64_t tokens = t.tokens.size(1);
  ASSERT_EQ(r.sizes().vec(), (std::vector<int64_t>{2, tokens, 90 + 16}));
  for (int64_t b = 0; b < 2; ++b) {
    at::Tensor valid = t.clusters.token_valid[b].to(at::kBool);
    at::Tensor assign = t.clusters.masks[b].masked_fill(at::logical_not(valid).unsqueeze(0), -1).argmax(1);
    EXPECT_TRUE(at::allclose(r[b], token_geometry(px[b], assign, tokens, t.grid_h, t.grid_w, 4)));
    for (int64_t k = 0; k < tokens; ++k)
      if (!valid[k].item<bool>()) EXPECT_EQ(r[b][k].abs().sum().item<double>(), 0.0) << "a padded token";
  }
  // The image-level reconstruct hands the descriptors on; the token-level one without them is refused.
  at::Tensor img = m->reconstruct(px, t);
  EXPECT_TRUE(at::allclose(img, m->reconstruct(t.tokens, t.clusters.token_valid, nullptr, r)));
  EXPECT_THROW(m->reconstruct(t.tokens, t.clusters.token_valid), setok::Error);
  // A model without regions has none to give.
  SetokModel plain(SetokConfig::small());
  EXPECT_FALSE(plain->regions(px, plain->tokenize(px)).defined());
}
