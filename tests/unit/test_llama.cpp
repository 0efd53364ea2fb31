// The LLaMA decoder: HuggingFace names and config, the KV cache against a full forward, causality,
// grouped-query attention against its multi-head equivalent, rotary embeddings' relative property,
// a hand-written reference layer, loading and saving.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/llm/generate.h"
#include "core/llm/llama_model.h"
#include "core/llm/lora.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace setok;
using namespace setok::llm;
using setok::test::ids_of;
using setok::test::make;
using setok::test::tiny;

TEST(LlamaConfig, ReadsHuggingFaceConfigAndRejectsWhatItCannotRun) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"model_type", "llama"},
                      {"hidden_size", 2048},
                      {"intermediate_size", 5632},
                      {"num_hidden_layers", 22},
                      {"num_attention_heads", 32},
                      {"num_key_value_heads", 4},
                      {"rms_norm_eps", 1e-5},
                      {"vocab_size", 32000},
                      {"max_position_embeddings", 2048},
                      {"rope_theta", 10000.0},
                      {"rope_scaling", nullptr},
                      {"hidden_act", "silu"},
                      {"tie_word_embeddings", false},
                      {"bos_token_id", 1},
                      {"eos_token_id", 2},
                      {"torch_dtype", "bfloat16"}};
  LlamaConfig c = LlamaConfig::from_json(j);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_width(), 64);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(LlamaConfig::from_json(c.to_json()).to_json(), c.to_json());
  auto bad = [&](const char* key, nlohmann::json v) {
    nlohmann::json b = j;
    b[key] = v;
    return b;
  };
  EXPECT_THROW(LlamaConfig::from_json(bad("num_key_value_heads", 5)), Error);
  EXPECT_THROW(LlamaConfig::from_json(bad("model_type", "mistral")), Error);
  EXPECT_THROW(LlamaConfig::from_json(bad("hidden_act", "gelu")), Error);
  EXPECT_THROW(LlamaConfig::from_json(bad("rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}})), Error);
  EXPECT_DOUBLE_EQ(
      LlamaConfig::from_json(bad("rope_scaling", {{"type", "linear"}, {"factor", 4.0}})).rope_linear_factor, 4.0);
  EXPECT_THROW(LlamaConfig::from_json(bad("hidden_size", "wide")), Error);
  // transformers 5 writes one rope_parameters object instead of rope_theta + rope_scaling.
  nlohmann::json v5 = j;
  v5.erase("rope_theta");
  v5.erase("rope_scaling");
  v5["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 5000.0}};
  LlamaConfig c5 = LlamaConfig::from_json(v5);
  EXPECT_DOUBLE_EQ(c5.rope_theta, 5000.0);
  EXPECT_DOUBLE_EQ(c5.rope_linear_factor, 2.0);
  v5["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  EXPECT_DOUBLE_EQ(LlamaConfig::from_json(v5).rope_theta, 500000.0);
  EXPECT_THROW(LlamaConfig::from_json(bad("rope_parameters", {{"rope_type", "yarn"}, {"factor", 4.0}})), Error);
}

TEST(Llama, UsesHuggingFaceTensorNamesAndShapes) {
  LlamaForCausalLM m(tiny());
  io::TensorMap sd = nn::state_dict(*m);
  EXPECT_EQ(sd.at("model.embed_tokens.weight").sizes(), at::IntArrayRef({50, 32}));
  EXPECT_EQ(sd.at("model.layers.1.self_attn.q_proj.weight").sizes(), at::IntArrayRef({32, 32}));
  EXPECT_EQ(sd.at("model.layers.1.self_attn.k_proj.weight").sizes(), at::IntArrayRef({16, 32}));
  EXPECT_EQ(sd.at("model.layers.1.self_attn.v_proj.weight").sizes(), at::IntArrayRef({16, 32}));
  EXPECT_EQ(sd.at("model.layers.1.self_attn.o_proj.weight").sizes(), at::IntArrayRef({32, 32}));
  EXPECT_EQ(sd.at("model.layers.0.mlp.gate_proj.weight").sizes(), at::IntArrayRef({48, 32}));
  EXPECT_EQ(sd.at("model.layers.0.mlp.down_proj.weight").sizes(), at::IntArrayRef({32, 48}));
  EXPECT_TRUE(sd.count("model.layers.0.input_layernorm.weight"));
  EXPECT_TRUE(sd.count("model.layers.0.post_attention_layernorm.weight"));
  EXPECT_TRUE(sd.count("model.norm.weight"));
  EXPECT_TRUE(sd.count("lm_head.weight"));
  EXPECT_EQ(sd.size(), 3u + 2 * 9);
  LlamaForCausalLM tied(tiny(2, true));
  EXPECT_FALSE(nn::state_dict(*tied).count("lm_head.weight"));
}

TEST(Llama, MatchesAHandWrittenReferenceForward) {
  // One layer, computed here with nothing but the formulas of the LLaMA paper / HF's code.
  LlamaConfig c = tiny(2);
  c.num_hidden_layers = 1;
  LlamaForCausalLM m = make(c, 3);
  c10::InferenceMode g;
  at::Tensor ids = ids_of({3, 14, 15, 9, 26, 5});
  const std::int64_t T = 6, H = 4, Hkv = 2, d = 8;
  auto W = nn::state_dict(*m);
  auto rms = [&](at::Tensor x, const std::string& w) {
    return x / (x.pow(2).mean(-1, true) + c.rms_norm_eps).sqrt() * W.at(w);
  };
  at::Tensor x = W.at("model.embed_tokens.weight").index_select(0, ids.view(-1));  // [T, D]
  at::Tensor hn = rms(x, "model.layers.0.input_layernorm.weight");
  at::Tensor q = at::matmul(hn, W.at("model.layers.0.self_attn.q_proj.weight").t()).view({T, H, d});
  at::Tensor k = at::matmul(hn, W.at("model.layers.0.self_attn.k_proj.weight").t()).view({T, Hkv, d});
  at::Tensor v = at::matmul(hn, W.at("model.layers.0.self_attn.v_proj.weight").t()).view({T, Hkv, d});
  auto rot = [&](at::Tensor t) {  // [T, heads, d], position = row
    at::Tensor out = t.clone();
    for (std::int64_t p = 0; p < T; ++p)
      for (std::int64_t i = 0; i < d / 2; ++i) {
        const double theta = p * std::pow(10000.0, -2.0 * i / d);
        at::Tensor a = t.select(0, p).select(-1, i), b = t.select(0, p).select(-1, i + d / 2);
        out.select(0, p).select(-1, i).copy_(a * std::cos(theta) - b * std::sin(theta));
        out.select(0, p).select(-1, i + d / 2).copy_(b * std::cos(theta) + a * std::sin(theta));
      }
    return out;
  };
  q = rot(q);
  k = rot(k);
  at::Tensor att = at::zeros({T, H, d});
  for (std::int64_t h = 0; h < H; ++h) {
    const std::int64_t kh = h / (H / Hkv);
    at::Tensor s = at::matmul(q.select(1, h), k.select(1, kh).t()) / std::sqrt(static_cast<double>(d));
    s = s.masked_fill(at::ones({T, T}, at::kBool).triu(1), -INFINITY);
    att.select(1, h).copy_(at::matmul(at::softmax(s, -1), v.select(1, kh)));
  }
  at::Tensor h1 = x + at::matmul(att.view({T, H * d}), W.at("model.layers.0.self_attn.o_proj.weight").t());
  at::Tensor hn2 = rms(h1, "model.layers.0.post_attention_layernorm.weight");
  at::Tensor mlp = at::matmul(at::silu(at::matmul(hn2, W.at("model.layers.0.mlp.gate_proj.weight").t())) *
                                  at::matmul(hn2, W.at("model.layers.0.mlp.up_proj.weight").t()),
                              W.at("model.layers.0.mlp.down_proj.weight").t());
  at::Tensor ref = at::matmul(rms(h1 + mlp, "model.norm.weight"), W.at("lm_head.weight").t());
  at::Tensor got = m->forward(ids).squeeze(0);
  EXPECT_TRUE(at::allclose(got, ref, 1e-4, 1e-5)) << (got - ref).abs().max().item<float>();
}

TEST(Llama, CachedDecodingEqualsTheFullForwardAndIsCausal) {
  LlamaForCausalLM m = make(tiny());
  c10::InferenceMode g;
  at::Tensor ids = ids_of({1, 7, 22, 13, 8, 41, 2, 19, 30});
  at::Tensor full = m->forward(ids);
  KVCache cache = KVCache::allocate(m->config(), 1, 16, at::TensorOptions());
  at::Tensor pre = m->forward(ids.narrow(1, 0, 4), &cache);
  EXPECT_EQ(cache.length, 4);
  std::vector<at::Tensor> steps{pre};
  for (std::int64_t t = 4; t < 9; ++t) steps.push_back(m->forward(ids.narrow(1, t, 1), &cache));
  at::Tensor inc = at::cat(steps, 1);
  EXPECT_TRUE(at::allclose(inc, full, 1e-4, 1e-5)) << (inc - full).abs().max().item<float>();
  // Truncating and re-feeding gives the same again (regenerate from a past turn).
  cache.truncate(6);
  at::Tensor again = m->forward(ids.narrow(1, 6, 3), &cache);
  EXPECT_TRUE(at::allclose(again, full.narrow(1, 6, 3), 1e-4, 1e-5));
  // Causality: changing token 5 leaves logits 0..4 alone and changes 5.
  at::Tensor ids2 = ids.clone();
  ids2[0][5] = 3;
  at::Tensor other = m->forward(ids2);
  EXPECT_TRUE(at::allclose(other.narrow(1, 0, 5), full.narrow(1, 0, 5), 1e-5, 1e-6));
  EXPECT_FALSE(at::allclose(other.narrow(1, 5, 1), full.narrow(1, 5, 1), 1e-3, 1e-3));
  EXPECT_THROW(m->forward(ids_of(std::vector<std::int64_t>(8, 1)), &cache), Error);  // 9 + 8 > 16
}

TEST(Llama, GroupedQueryAttentionEqualsMultiHeadWithSharedKeys) {
  LlamaForCausalLM gqa = make(tiny(2), 4);
  LlamaForCausalLM mha(tiny(4));
  io::TensorMap w = nn::state_dict(*gqa);
  for (int l = 0; l < 2; ++l)
    for (const char* kv : {"k_proj", "v_proj"}) {
      const std::string n = "model.layers." + std::to_string(l) + ".self_attn." + kv + ".weight";
      // Heads 0,1 share key head 0; heads 2,3 share key head 1.
      w[n] = w.at(n).view({2, 8, 32}).repeat_interleave(2, 0).reshape({32, 32});
    }
  nn::load_state_dict(*mha, w);
  mha->eval();
  c10::InferenceMode g;
  at::Tensor ids = ids_of({4, 8, 15, 16, 23, 42});
  EXPECT_TRUE(at::allclose(gqa->forward(ids), mha->forward(ids), 1e-4, 1e-5));
}

TEST(Llama, RotaryScoresDependOnlyOnTheRelativePosition) {
  LlamaConfig c = tiny();
  at::Tensor q = at::randn({1, 1, 1, 8}), k = at::randn({1, 1, 1, 8});
  auto score = [&](std::int64_t m, std::int64_t n) {
    RotaryTable rm = rotary_table(c, at::tensor({m}, at::kLong), at::TensorOptions());
    RotaryTable rn = rotary_table(c, at::tensor({n}, at::kLong), at::TensorOptions());
    return (apply_rotary(q, rm) * apply_rotary(k, rn)).sum().item<double>();
  };
  EXPECT_NEAR(score(3, 1), score(10, 8), 1e-4);
  EXPECT_NEAR(score(0, 0), score(37, 37), 1e-4);
  EXPECT_GT(std::abs(score(5, 0) - score(0, 0)), 1e-4);
  RotaryTable r = rotary_table(c, at::tensor({7}, at::kLong), at::TensorOptions());
  EXPECT_NEAR(apply_rotary(q, r).norm().item<double>(), q.norm().item<double>(), 1e-5);
}

TEST(Llama, SavesAndLoadsHuggingFaceFoldersIncludingShardsAndHalfWeights) {
  test::TempDir dir;
  LlamaForCausalLM m = make(tiny(), 6);
  save_llama(dir / "a", m);
  LlamaForCausalLM a = load_llama(dir / "a");
  c10::InferenceMode g;
  at::Tensor ids = ids_of({5, 6, 7});
  EXPECT_TRUE(at::equal(a->forward(ids), m->forward(ids)));
  // An HF export: sharded, f16, with the old rotary buffers that nothing needs.
  io::TensorMap w = nn::state_dict(*m);
  for (auto& [n, t] : w) t = t.to(at::kHalf);
  w["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({4});
  io::save_checkpoint(dir / "b", m->config().to_json(), w, /*max_shard_bytes=*/20000);
  EXPECT_TRUE(std::filesystem::exists(dir / "b/model.safetensors.index.json"));
  LlamaForCausalLM b = load_llama(dir / "b");
  EXPECT_EQ(b->model->embed_tokens->weight.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::allclose(b->forward(ids), m->forward(ids), 1e-2, 1e-2));
  // A missing tensor is named.
  w.erase("model.layers.1.mlp.up_proj.weight");
  w.erase("model.layers.0.self_attn.rotary_emb.inv_freq");
  io::save_checkpoint(dir / "c", m->config().to_json(), w);
  try {
    load_llama(dir / "c");
    FAIL() << "loaded a checkpoint with a tensor missing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << e.what();
  }
}

TEST(Llama, GrownVocabularyKeepsOldLogitsAndReadsTheNewId) {
  for (bool tie : {false, true}) {
    llm::LlamaForCausalLM m = test::make(test::tiny(2, tie));
    const at::Tensor ids = test::ids_of({1, 7, 3, 9});
    const at::Tensor before = m->forward(ids);
    const at::Tensor mean_row = m->model->embed_tokens->weight.mean(0);
    m->grow_vocabulary(52);
    EXPECT_EQ(m->config().vocab_size, 52);
    EXPECT_TRUE(at::allclose(m->model->embed_tokens->weight[51], mean_row));
    const at::Tensor after = m->forward(ids);
    ASSERT_EQ(after.size(-1), 52);
    EXPECT_TRUE(at::allclose(after.narrow(-1, 0, 50), before, 1e-5, 1e-5));
    EXPECT_EQ(m->forward(test::ids_of({51, 50})).size(1), 2);
    EXPECT_THROW(m->grow_vocabulary(52), Error);
  }
}
