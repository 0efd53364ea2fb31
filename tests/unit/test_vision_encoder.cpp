// The SigLIP vision encoder: HF tensor names, checkpoint loading, shapes, feature layers, and the
// numerics of one block and the pooling head against plain re-implementations.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/vision/siglip_encoder.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using namespace setok::vision;
using setok::test::TempDir;

namespace {

// A tiny tower: 2 layers, 32 px, patch 8 (4x4 patches), width 16, 2 heads, with the pooling head.
SiglipVisionConfig tiny(bool head = true) {
  SiglipVisionConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.image_size = 32;
  c.patch_size = 8;
  c.use_head = head;
  return c;
}

// Fresh modules have zero biases and unit LayerNorms; randomise everything so every tensor matters.
void randomise(torch::nn::Module& m, std::uint64_t seed = 1) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.copy_(at::randn_like(p) * 0.3);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool close(const at::Tensor& a, const at::Tensor& b, double tol = 1e-5) {
  return a.sizes() == b.sizes() && at::allclose(a, b, tol, tol);
}

}  // namespace

// ---- config ----

TEST(SiglipConfig, FromJsonAppliesHfDefaultsForOmittedKeys) {
  auto c = SiglipVisionConfig::from_json(
      {{"model_type", "siglip_vision_model"}, {"hidden_size", 1152}, {"num_attention_heads", 16}});
  EXPECT_EQ(c.hidden_size, 1152);
  EXPECT_EQ(c.num_attention_heads, 16);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.image_size, 224);
  EXPECT_EQ(c.patch_size, 16);
  EXPECT_EQ(c.num_channels, 3);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.hidden_act, "gelu_pytorch_tanh");
  EXPECT_TRUE(c.use_head);
}

TEST(SiglipConfig, FromFullSiglipConfigReadsVisionConfig) {
  // The shape of google/siglip-so400m-patch14-384's config.json (defaults left out as HF does).
  nlohmann::json j = {{"architectures", {"SiglipModel"}},
                      {"model_type", "siglip"},
                      {"text_config", {{"hidden_size", 1152}, {"intermediate_size", 4304}}},
                      {"vision_config",
                       {{"hidden_size", 1152},
                        {"image_size", 384},
                        {"intermediate_size", 4304},
                        {"model_type", "siglip_vision_model"},
                        {"num_attention_heads", 16},
                        {"num_hidden_layers", 27},
                        {"patch_size", 14}}}};
  auto c = SiglipVisionConfig::from_json(j);
  auto p = SiglipVisionConfig::so400m_patch14_384();
  EXPECT_EQ(c.to_json(), p.to_json());
  EXPECT_EQ(c.num_patches(), 729);
  // A SiglipConfig without vision_config means all defaults.
  EXPECT_EQ(SiglipVisionConfig::from_json({{"model_type", "siglip"}}).hidden_size, 768);
  // PaliGemma-style towers switch the head off.
  EXPECT_FALSE(SiglipVisionConfig::from_json({{"vision_use_head", false}}).use_head);
}

TEST(SiglipConfig, ToJsonRoundTrips) {
  auto c = SiglipVisionConfig::small();
  c.feature_layer = -2;
  auto back = SiglipVisionConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.feature_layer, -2);
  EXPECT_FALSE(back.use_head);
}

TEST(SiglipConfig, RejectsInvalidShapesWithOneLineReason) {
  auto err = [](nlohmann::json j) { return error_of([&] { SiglipVisionConfig::from_json(j); }); };
  EXPECT_NE(err({{"hidden_size", 100}, {"num_attention_heads", 3}}).find("divisible"), std::string::npos);
  EXPECT_NE(err({{"image_size", 10}, {"patch_size", 14}}).find("smaller than patch_size"), std::string::npos);
  EXPECT_NE(err({{"num_hidden_layers", 0}}).find("num_hidden_layers"), std::string::npos);
  EXPECT_NE(err({{"patch_size", -4}}).find("patch_size"), std::string::npos);
  EXPECT_NE(err({{"hidden_size", "wide"}}).find("hidden_size"), std::string::npos);
  EXPECT_NE(err({{"hidden_act", "relu"}}).find("relu"), std::string::npos);
  EXPECT_NE(err({{"feature_layer", 12}}).find("feature_layer"), std::string::npos);
  EXPECT_NE(err({{"vision_config", 3}}).find("vision_config"), std::string::npos);
  for (const std::string& e : {err({{"hidden_size", 100}, {"num_attention_heads", 3}}), err({{"patch_size", 0}}),
                               err({{"image_size", 10}, {"patch_size", 14}})})
    EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_NO_THROW(SiglipVisionConfig::small().validate());
  EXPECT_NO_THROW(SiglipVisionConfig::so400m_patch14_384().validate());
}

// ---- names and sizes ----

TEST(SiglipVision, StateDictNamesAreExactlyHuggingFaces) {
  SiglipVisionEncoder enc(tiny());
  auto sd = nn::state_dict(*enc, "vision_model.");
  // Written by hand from HF's SiglipVisionModel naming.
  std::set<std::string> expected = {
      "vision_model.embeddings.patch_embedding.weight",
      "vision_model.embeddings.patch_embedding.bias",
      "vision_model.embeddings.position_embedding.weight",
      "vision_model.post_layernorm.weight",
      "vision_model.post_layernorm.bias",
      "vision_model.head.probe",
      "vision_model.head.attention.in_proj_weight",
      "vision_model.head.attention.in_proj_bias",
      "vision_model.head.attention.out_proj.weight",
      "vision_model.head.attention.out_proj.bias",
      "vision_model.head.layernorm.weight",
      "vision_model.head.layernorm.bias",
      "vision_model.head.mlp.fc1.weight",
      "vision_model.head.mlp.fc1.bias",
      "vision_model.head.mlp.fc2.weight",
      "vision_model.head.mlp.fc2.bias",
  };
  for (const char* i : {"0", "1"})
    for (const char* t : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                          "layer_norm1", "layer_norm2", "mlp.fc1", "mlp.fc2"})
      for (const char* wb : {"weight", "bias"})
        expected.insert(std::string("vision_model.encoder.layers.") + i + "." + t + "." + wb);
  std::set<std::string> got;
  for (const auto& kv : sd) got.insert(kv.first);
  EXPECT_EQ(got, expected);

  EXPECT_EQ(sd.at("vision_model.embeddings.patch_embedding.weight").sizes(), at::IntArrayRef({16, 3, 8, 8}));
  EXPECT_EQ(sd.at("vision_model.embeddings.position_embedding.weight").sizes(), at::IntArrayRef({16, 16}));
  EXPECT_EQ(sd.at("vision_model.encoder.layers.1.mlp.fc1.weight").sizes(), at::IntArrayRef({40, 16}));
  EXPECT_EQ(sd.at("vision_model.head.probe").sizes(), at::IntArrayRef({1, 1, 16}));
  EXPECT_EQ(sd.at("vision_model.head.attention.in_proj_weight").sizes(), at::IntArrayRef({48, 16}));
  EXPECT_EQ(sd.at("vision_model.head.attention.in_proj_bias").sizes(), at::IntArrayRef({48}));

  SiglipVisionEncoder headless(tiny(/*head=*/false));
  for (const auto& kv : nn::state_dict(*headless, "vision_model."))
    EXPECT_EQ(kv.first.find("vision_model.head."), std::string::npos) << kv.first;
}

TEST(SiglipVision, SmallPresetParameterCount) {
  SiglipVisionEncoder enc(SiglipVisionConfig::small());
  std::int64_t n = 0;
  for (const auto& p : enc->parameters()) n += p.numel();
  // patch 3*8*8*192+192 = 37056, positions 256*192 = 49152, per layer 4*(192*192+192) + 2*384 +
  // (192*768+768) + (768*192+192) = 444864 (x4), post-norm 384.
  EXPECT_EQ(n, 37056 + 49152 + 4 * 444864 + 384);
  EXPECT_EQ(n, 1866048);
}

// ---- forward ----

TEST(SiglipVision, OutputShapesAtNativeAndOtherResolutions) {
  torch::NoGradGuard no_grad;
  SiglipVisionEncoder small(SiglipVisionConfig::small());
  auto out = small->forward(at::randn({2, 3, 128, 128}), /*output_hidden_states=*/true);
  EXPECT_EQ(out.last_hidden_state.sizes(), at::IntArrayRef({2, 256, 192}));
  EXPECT_EQ(out.hidden_states.size(), 4u);
  EXPECT_FALSE(out.pooled.defined());

  // 96x160 is not the trained 128x128: the 16x16 position table is resized to 12x20.
  auto f = small->patch_features(at::randn({1, 3, 96, 160}), -1);
  EXPECT_EQ(f.grid_h, 12);
  EXPECT_EQ(f.grid_w, 20);
  EXPECT_EQ(f.features.sizes(), at::IntArrayRef({1, 240, 192}));
  EXPECT_TRUE(at::isfinite(f.features).all().item<bool>());

  // so400m's geometry (patch 14 at 384 px: 27x27, the last 6 pixels dropped) at a tiny width.
  SiglipVisionConfig geo = tiny(false);
  geo.patch_size = 14;
  geo.image_size = 384;
  SiglipVisionEncoder so400m_like(geo);
  auto g = so400m_like->patch_features(at::randn({1, 3, 384, 384}), -1);
  EXPECT_EQ(g.features.sizes(), at::IntArrayRef({1, 729, 16}));
  EXPECT_EQ(g.grid_h, 27);
  EXPECT_TRUE(
      so400m_like->embeddings->position_table(27, 27).is_same(so400m_like->embeddings->position_embedding->weight));

  SiglipVisionEncoder with_head(tiny());
  auto o = with_head->forward(at::randn({3, 3, 48, 40}));
  EXPECT_EQ(o.last_hidden_state.sizes(), at::IntArrayRef({3, 30, 16}));
  EXPECT_EQ(o.pooled.sizes(), at::IntArrayRef({3, 16}));
  EXPECT_TRUE(o.hidden_states.empty());

  // As so400m-patch14-384 does with 384 = 27 * 14 + 6, a remainder narrower than a patch is dropped.
  auto cut = small->patch_features(at::randn({1, 3, 100, 133}), -2);
  EXPECT_EQ(cut.grid_h, 12);
  EXPECT_EQ(cut.grid_w, 16);
  EXPECT_EQ(cut.features.sizes(), at::IntArrayRef({1, 192, 192}));
  EXPECT_NE(error_of([&] { small->forward(at::randn({1, 3, 4, 128})); }).find("smaller than one"), std::string::npos);
  EXPECT_NE(error_of([&] { small->forward(at::randn({1, 1, 128, 128})); }).find("pixels"), std::string::npos);
}

TEST(SiglipVision, PositionTableInterpolationKeepsRowMajorLayout) {
  SiglipVisionEncoder enc(tiny());  // 4x4 grid, width 16
  torch::NoGradGuard no_grad;
  auto& table = enc->embeddings->position_embedding->weight;
  EXPECT_TRUE(enc->embeddings->position_table(4, 4).equal(table));
  // Rows of the patch grid get value = row index in every channel; columns are all alike.
  at::Tensor rows = at::arange(4, at::kFloat).view({4, 1, 1}).expand({4, 4, 16}).reshape({16, 16});
  table.copy_(rows);
  at::Tensor t = enc->embeddings->position_table(8, 6).view({8, 6, 16});  // taller and narrower
  EXPECT_TRUE(close(t, t.select(1, 0).unsqueeze(1).expand_as(t)));        // constant along each row
  at::Tensor first_channel = t.select(2, 0).select(1, 0);
  EXPECT_LT(first_channel[0].item<float>(), first_channel[7].item<float>());
  // A constant table stays constant (bicubic weights sum to one).
  table.fill_(0.25);
  EXPECT_TRUE(close(enc->embeddings->position_table(7, 3), at::full({21, 16}, 0.25)));
}

TEST(SiglipVision, FeatureLayersFollowLlavaConvention) {
  torch::NoGradGuard no_grad;
  SiglipVisionConfig c = tiny();
  c.num_hidden_layers = 3;
  SiglipVisionEncoder enc(c);
  randomise(*enc);
  at::Tensor px = at::randn({2, 3, 32, 32});
  auto out = enc->forward(px, true);
  ASSERT_EQ(out.hidden_states.size(), 3u);
  auto last = enc->patch_features(px, -1).features;
  auto penult = enc->patch_features(px, -2).features;
  EXPECT_TRUE(close(last, out.last_hidden_state));
  EXPECT_FALSE(close(last, penult, 1e-3));
  EXPECT_TRUE(close(penult, out.hidden_states[1]));  // layer L-2
  EXPECT_TRUE(close(enc->patch_features(px, -3).features, out.hidden_states[0]));
  EXPECT_TRUE(close(enc->patch_features(px, 2).features, out.hidden_states[2]));
  EXPECT_TRUE(close(enc->patch_features(px).features, last));  // config default -1
  EXPECT_NE(error_of([&] { enc->patch_features(px, 3); }).find("outside"), std::string::npos);
  EXPECT_NE(error_of([&] { enc->patch_features(px, -4); }).find("outside"), std::string::npos);
}

TEST(SiglipVision, GradientsReachInputPixels) {
  SiglipVisionEncoder enc(tiny());
  randomise(*enc);
  at::Tensor px = at::randn({1, 3, 32, 32}).requires_grad_(true);
  auto out = enc->forward(px);
  (out.last_hidden_state.pow(2).sum() + out.pooled.sum()).backward();
  ASSERT_TRUE(px.grad().defined());
  EXPECT_GT(px.grad().abs().sum().item<float>(), 0.f);
  EXPECT_TRUE(enc->embeddings->position_embedding->weight.grad().defined());
  EXPECT_TRUE(enc->head->probe.grad().defined());
}

// One encoder block, written out with plain at:: ops from the same weights.
TEST(SiglipVision, EncoderLayerMatchesPlainReimplementation) {
  torch::NoGradGuard no_grad;
  SiglipVisionEncoder enc(tiny());
  randomise(*enc, 7);
  auto sd = nn::state_dict(*enc->encoder->blocks[1]);
  const std::int64_t B = 2, N = 16, D = 16, H = 2, hd = 8;
  at::Tensor x = at::randn({B, N, D});

  auto lin = [&](const at::Tensor& t, const std::string& name) {
    return at::matmul(t, sd.at(name + ".weight").t()) + sd.at(name + ".bias");
  };
  auto ln = [&](const at::Tensor& t, const std::string& name) {
    at::Tensor mu = t.mean(-1, true);
    at::Tensor var = (t - mu).pow(2).mean(-1, true);
    return (t - mu) / at::sqrt(var + 1e-6) * sd.at(name + ".weight") + sd.at(name + ".bias");
  };
  auto heads = [&](const at::Tensor& t) { return t.view({B, N, H, hd}).permute({0, 2, 1, 3}); };
  at::Tensor h = ln(x, "layer_norm1");
  at::Tensor q = heads(lin(h, "self_attn.q_proj")), k = heads(lin(h, "self_attn.k_proj")),
             v = heads(lin(h, "self_attn.v_proj"));
  at::Tensor s = at::matmul(q, k.transpose(2, 3)) / std::sqrt(8.0);
  at::Tensor e = at::exp(s - std::get<0>(s.max(-1, true)));
  at::Tensor a = at::matmul(e / e.sum(-1, true), v).permute({0, 2, 1, 3}).reshape({B, N, D});
  at::Tensor y = x + lin(a, "self_attn.out_proj");
  at::Tensor m = lin(ln(y, "layer_norm2"), "mlp.fc1");
  m = 0.5 * m * (1 + at::tanh(std::sqrt(2.0 / M_PI) * (m + 0.044715 * m.pow(3))));  // gelu, tanh form
  at::Tensor expected = y + lin(m, "mlp.fc2");

  EXPECT_TRUE(close(enc->encoder->layer(1).forward(x), expected, 1e-4));
}

// The pooling head against torch's own MultiheadAttention, whose packed parameters HF's head holds.
TEST(SiglipVision, PoolingHeadMatchesTorchMultiheadAttention) {
  torch::NoGradGuard no_grad;
  SiglipVisionEncoder enc(tiny());
  randomise(*enc, 3);
  auto& head = *enc->head;
  torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(16, 2));
  mha->in_proj_weight.copy_(head.attention->in_proj_weight);
  mha->in_proj_bias.copy_(head.attention->in_proj_bias);
  mha->out_proj->weight.copy_(head.attention->out_proj->weight);
  mha->out_proj->bias.copy_(head.attention->out_proj->bias);
  mha->eval();
  at::Tensor x = at::randn({3, 16, 16});
  at::Tensor probe = head.probe.expand({3, 1, 16});
  // torch's C++ module is sequence-first.
  at::Tensor attn = std::get<0>(mha(probe.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1))).transpose(0, 1);
  at::Tensor expected = (attn + head.mlp(head.layernorm(attn))).select(1, 0);
  EXPECT_TRUE(close(head.forward(x), expected, 1e-4));
}

// ---- checkpoints ----

TEST(SiglipVision, SaveLoadRoundTripGivesIdenticalOutputs) {
  TempDir d;
  SiglipVisionEncoder enc(tiny());
  randomise(*enc, 11);
  save_siglip(d / "m", enc);
  auto loaded = load_siglip(d / "m");
  EXPECT_EQ(loaded->config().to_json(), enc->config().to_json());
  torch::NoGradGuard no_grad;
  at::Tensor px = at::randn({2, 3, 32, 32});
  auto a = enc->forward(px), b = loaded->forward(px);
  EXPECT_TRUE(a.last_hidden_state.equal(b.last_hidden_state));
  EXPECT_TRUE(a.pooled.equal(b.pooled));
}

TEST(SiglipVision, RefusesCheckpointsThatDoNotMatch) {
  TempDir d;
  SiglipVisionEncoder enc(tiny());
  nlohmann::json cfg = tiny().to_json();
  auto good = nn::state_dict(*enc, "vision_model.");
  auto refuse = [&](io::TensorMap t) {
    io::save_checkpoint(d / "bad", cfg, t);
    return error_of([&] { load_siglip(d / "bad"); });
  };
  auto missing = good;
  missing.erase("vision_model.encoder.layers.1.mlp.fc2.bias");
  EXPECT_NE(refuse(missing).find("vision_model.encoder.layers.1.mlp.fc2.bias"), std::string::npos);

  auto extra = good;
  extra["vision_model.encoder.layers.2.mlp.fc2.bias"] = at::zeros({16});
  EXPECT_NE(refuse(extra).find("vision_model.encoder.layers.2.mlp.fc2.bias"), std::string::npos);

  auto misshaped = good;
  misshaped["vision_model.embeddings.position_embedding.weight"] = at::zeros({15, 16});
  EXPECT_NE(refuse(misshaped).find("vision_model.embeddings.position_embedding.weight"), std::string::npos);

  auto stray = good;
  stray["decoder.weight"] = at::zeros({1});
  EXPECT_NE(refuse(stray).find("decoder.weight"), std::string::npos);

  // A headless checkpoint for a config that wants the head.
  auto headless = good;
  for (auto it = headless.begin(); it != headless.end();)
    it = it->first.rfind("vision_model.head.", 0) == 0 ? headless.erase(it) : std::next(it);
  EXPECT_NE(refuse(headless).find("vision_model.head."), std::string::npos);
}

TEST(SiglipVision, LoadsFullSiglipModelCheckpoint) {
  TempDir d;
  SiglipVisionEncoder enc(tiny());
  randomise(*enc, 5);
  io::TensorMap t = nn::state_dict(*enc, "vision_model.");
  t["text_model.embeddings.token_embedding.weight"] = at::randn({10, 16});
  t["text_model.final_layer_norm.weight"] = at::ones({16});
  t["logit_scale"] = at::ones({1});
  t["logit_bias"] = at::zeros({1});
  // HF writes SiglipModel weights in bf16 or f32; bf16 here also checks the dtype conversion.
  for (auto& kv : t) kv.second = kv.second.to(at::kBFloat16);
  nlohmann::json cfg = {{"model_type", "siglip"},
                        {"architectures", {"SiglipModel"}},
                        {"text_config", {{"hidden_size", 16}}},
                        {"vision_config", tiny().to_json()}};
  cfg["vision_config"].erase("layer_norm_eps");                       // a default HF omits
  io::save_checkpoint(d / "full", cfg, t, /*max_shard_bytes=*/4000);  // sharded, as large models are
  auto loaded = load_siglip(d / "full");
  torch::NoGradGuard no_grad;
  for (const auto& [name, w] : nn::state_dict(*loaded, "vision_model."))
    EXPECT_TRUE(w.equal(t.at(name).to(at::kFloat))) << name;
}

// ---- preprocessing ----

TEST(SiglipVision, PreprocessScalesAndNormalises) {
  io::Image img{2, 1, {0, 255, 51, 102, 153, 204}};
  at::Tensor x = SiglipVisionEncoderImpl::preprocess(img, 2);  // resized 2x1 -> 2x2
  EXPECT_EQ(x.sizes(), at::IntArrayRef({1, 3, 2, 2}));
  io::Image same{2, 2, {0, 255, 51, 102, 153, 204, 0, 255, 51, 102, 153, 204}};
  at::Tensor y = SiglipVisionEncoderImpl::preprocess(same, 2);
  EXPECT_FLOAT_EQ(y[0][0][0][0].item<float>(), -1.f);               // R of pixel (0,0) = 0
  EXPECT_FLOAT_EQ(y[0][1][0][0].item<float>(), 1.f);                // G = 255
  EXPECT_NEAR(y[0][2][0][1].item<float>(), 204 / 127.5 - 1, 1e-6);  // B of pixel (0,1)
  EXPECT_TRUE(x.equal(y));                                          // stretching rows that repeat changes nothing

  io::Image flat{50, 30, std::vector<std::uint8_t>(50 * 30 * 3, 200)};
  at::Tensor z = SiglipVisionEncoderImpl::preprocess(flat, 16);
  EXPECT_EQ(z.sizes(), at::IntArrayRef({1, 3, 16, 16}));
  EXPECT_TRUE(close(z, at::full({1, 3, 16, 16}, 200 / 127.5 - 1)));
  EXPECT_NE(error_of([] { SiglipVisionEncoderImpl::preprocess(io::Image{}, 16); }).find("empty"), std::string::npos);
}

// ---- the optional convolutional stem (not HF's; config.conv_stem) ----

TEST(SiglipVision, ConvStemReplacesPatchEmbeddingOnTheSameGrid) {
  auto c = tiny(false);
  c.conv_stem = {4, 8, 8};  // 3 stride-2 stages: 8-px patches
  SiglipVisionEncoder enc(c);
  randomise(*enc, 5);
  auto sd = nn::state_dict(*enc, "vision_model.");
  EXPECT_EQ(sd.count("vision_model.embeddings.patch_embedding.weight"), 0u);
  EXPECT_EQ(sd.at("vision_model.embeddings.conv_stem.0.weight").sizes(), (at::IntArrayRef{4, 3, 3, 3}));
  EXPECT_EQ(sd.count("vision_model.embeddings.conv_stem.0.bias"), 0u);
  EXPECT_EQ(sd.at("vision_model.embeddings.conv_stem.1.weight").sizes(), (at::IntArrayRef{4}));  // GroupNorm
  EXPECT_EQ(sd.at("vision_model.embeddings.conv_stem.4.weight").sizes(), (at::IntArrayRef{8, 8, 3, 3}));
  EXPECT_EQ(sd.at("vision_model.embeddings.conv_stem_proj.weight").sizes(), (at::IntArrayRef{16, 8, 1, 1}));

  torch::NoGradGuard no_grad;
  at::Tensor px = at::randn({2, 3, 32, 32});
  EXPECT_EQ(enc->forward(px).last_hidden_state.sizes(), (at::IntArrayRef{2, 16, 16}));
  // A size that is not a multiple of the patch keeps the patch Conv2d's grid (floor), not padding's.
  auto odd = enc->patch_features(at::randn({1, 3, 35, 42}), -1);
  EXPECT_EQ(odd.features.size(1), 4 * 5);
  EXPECT_EQ(odd.grid_h, 4);
  EXPECT_EQ(odd.grid_w, 5);
  // GroupNorm, not BatchNorm: an image's features do not depend on the rest of its batch.
  at::Tensor alone = enc->forward(px.narrow(0, 1, 1)).last_hidden_state;
  EXPECT_TRUE(close(alone[0], enc->forward(px).last_hidden_state[1]));
  // The last pixel rows beyond whole patches are ignored, as the patch Conv2d ignores them.
  at::Tensor padded = at::cat({px, at::randn({2, 3, 5, 32})}, 2);
  EXPECT_TRUE(close(enc->forward(padded).last_hidden_state, enc->forward(px).last_hidden_state));
}

TEST(SiglipVision, ConvStemSavesLoadsAndLearns) {
  TempDir d;
  auto c = tiny(false);
  c.conv_stem = {8, 8, 16};
  SiglipVisionEncoder enc(c);
  randomise(*enc, 9);
  save_siglip(d / "m", enc);
  EXPECT_EQ(io::read_json_file(d / "m/config.json")["conv_stem"], nlohmann::json({8, 8, 16}));
  EXPECT_FALSE(SiglipVisionConfig::small().to_json().contains("conv_stem"));  // HF configs stay HF's
  auto loaded = load_siglip(d / "m");
  EXPECT_EQ(loaded->config().conv_stem, c.conv_stem);
  at::Tensor px = at::randn({2, 3, 32, 32});
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(enc->forward(px).last_hidden_state.equal(loaded->forward(px).last_hidden_state));
  }
  // Every stem parameter gets a gradient from the features.
  enc->train();
  enc->forward(px).last_hidden_state.pow(2).mean().backward();
  for (const auto& p : enc->embeddings->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(SiglipConfig, ConvStemMustMakeThePatchSize) {
  auto err = [](nlohmann::json j) { return error_of([&] { SiglipVisionConfig::from_json(j); }); };
  EXPECT_NE(err({{"patch_size", 8}, {"conv_stem", {16, 32}}}).find("makes 4-pixel patches, but patch_size is 8"),
            std::string::npos);
  EXPECT_NE(err({{"patch_size", 14}, {"conv_stem", {16, 32, 64}}}).find("patch_size is 14"), std::string::npos);
  EXPECT_NE(err({{"patch_size", 8}, {"conv_stem", {16, 0, 64}}}).find("positive"), std::string::npos);
  EXPECT_NE(err({{"conv_stem", "wide"}}).find("conv_stem"), std::string::npos);
  EXPECT_NO_THROW(SiglipVisionConfig::from_json({{"patch_size", 8}, {"image_size", 64}, {"conv_stem", {16, 32, 64}}}));
}
