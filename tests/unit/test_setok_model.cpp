// SeTok end to end: config round trips, shapes, checkpoints.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
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
