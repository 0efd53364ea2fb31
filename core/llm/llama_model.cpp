#include "core/llm/llama_model.h"

#include "core/nn/activation_checkpoint.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"

namespace setok::llm {

KVCache KVCache::allocate(const LlamaConfig& c, std::int64_t batch, std::int64_t capacity, const at::TensorOptions& o) {
  if (batch < 1 || capacity < 1) throw Error("KV cache needs a positive batch and capacity");
  KVCache kv;
  kv.capacity = capacity;
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    kv.k.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_width()}, o));
    kv.v.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_width()}, o));
  }
  return kv;
}

void KVCache::truncate(std::int64_t n) {
  if (n < 0 || n > length)
    throw Error("KV cache: cannot truncate to " + std::to_string(n) + " of " + std::to_string(length));
  length = n;
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double e) : eps(e) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  at::Tensor h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * h.to(x.scalar_type());
}

RotaryTable rotary_table(const LlamaConfig& c, const at::Tensor& positions, const at::TensorOptions& o) {
  const std::int64_t d = c.head_width();
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(positions.device());
  at::Tensor inv_freq = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, f32) / static_cast<double>(d));
  at::Tensor pos = positions.to(at::kFloat) / c.rope_linear_factor;
  at::Tensor freqs = at::outer(pos, inv_freq);  // [T, d/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(o.dtype()), emb.sin().to(o.dtype())};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTable& r) {
  const std::int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  at::Tensor rotated = at::cat({-x2, x1}, -1);
  return x * r.cos + rotated * r.sin;
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c) : config(c) {
  const std::int64_t d = c.head_width();
  auto lin = [&](std::int64_t in, std::int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(c.attention_bias));
  };
  q_proj = register_module("q_proj", lin(c.hidden_size, c.num_attention_heads * d));
  k_proj = register_module("k_proj", lin(c.hidden_size, c.num_key_value_heads * d));
  v_proj = register_module("v_proj", lin(c.hidden_size, c.num_key_value_heads * d));
  o_proj = register_module("o_proj", lin(c.num_attention_heads * d, c.hidden_size));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const RotaryTable& rope, KVCache* cache, std::size_t layer,
                                       const at::Tensor& key_valid) {
  const std::int64_t B = x.size(0), T = x.size(1), H = config.num_attention_heads, Hkv = config.num_key_value_heads,
                     d = config.head_width();
  at::Tensor q = lora_linear(q_proj, lora, "q_proj", x).view({B, T, H, d}).transpose(1, 2);
  at::Tensor k = lora_linear(k_proj, lora, "k_proj", x).view({B, T, Hkv, d}).transpose(1, 2);
  at::Tensor v = lora_linear(v_proj, lora, "v_proj", x).view({B, T, Hkv, d}).transpose(1, 2);
  q = apply_rotary(q, rope);
  k = apply_rotary(k, rope);
  std::int64_t past = 0;
  if (cache) {
    past = cache->length;
    if (past + T > cache->capacity)
      throw Error("KV cache is full: " + std::to_string(past + T) + " positions, capacity " +
                  std::to_string(cache->capacity));
    cache->k[layer].narrow(2, past, T).copy_(k);
    cache->v[layer].narrow(2, past, T).copy_(v);
    k = cache->k[layer].narrow(2, 0, past + T);
    v = cache->v[layer].narrow(2, 0, past + T);
  }
  const std::int64_t L = past + T;
  if (Hkv != H) {
    // Grouped-query attention: query head h reads key/value head h / (H / Hkv).
    k = k.repeat_interleave(H / Hkv, 1);
    v = v.repeat_interleave(H / Hkv, 1);
  }
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));  // [B,H,T,L]
  at::Tensor allowed;
  if (T > 1) {
    // Query t sits at position past + t and sees keys 0..past + t.
    auto lo = at::TensorOptions().dtype(at::kLong).device(x.device());
    allowed = at::arange(L, lo).unsqueeze(0) <= (at::arange(T, lo) + past).unsqueeze(1);  // [T, L]
    allowed = allowed.view({1, 1, T, L});
  }
  if (key_valid.defined()) {
    at::Tensor kvv = key_valid.to(at::kBool).view({B, 1, 1, L});
    allowed = allowed.defined() ? (allowed & kvv) : kvv;
  }
  if (allowed.defined()) scores = scores.masked_fill(~allowed, -std::numeric_limits<float>::infinity());
  at::Tensor p = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
  // A query with no key at all (a padded query position) gives NaN rows: make them zero.
  if (key_valid.defined()) p = at::nan_to_num(p, 0.0);
  if (cache && T == 1 && cache->attention_sum.defined()) {
    cache->attention_sum.narrow(0, 0, L).add_(p[0].mean(0).view({L}).to(at::kFloat).to(cache->attention_sum.device()));
    ++cache->record_steps;
  }
  at::Tensor out = at::matmul(p, v).transpose(1, 2).reshape({B, T, H * d});
  return lora_linear(o_proj, lora, "o_proj", out);
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c) {
  auto lin = [&](std::int64_t in, std::int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(c.mlp_bias));
  };
  gate_proj = register_module("gate_proj", lin(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", lin(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", lin(c.intermediate_size, c.hidden_size));
}

at::Tensor LlamaMLPImpl::forward(const at::Tensor& x) {
  return lora_linear(down_proj, lora, "down_proj",
                     at::silu(lora_linear(gate_proj, lora, "gate_proj", x)) * lora_linear(up_proj, lora, "up_proj", x));
}

at::Tensor lora_linear(torch::nn::Linear& l, const LoraAdapters& lora, const char* name, const at::Tensor& x) {
  at::Tensor y = l(x);
  if (lora.empty()) return y;
  auto it = lora.find(name);
  if (it == lora.end()) return y;
  const LoraAdapter& a = it->second;
  return y + at::matmul(at::matmul(x, a.A.t()), a.B.t()) * a.scale;
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c) {
  self_attn = register_module("self_attn", LlamaAttention(c));
  mlp = register_module("mlp", LlamaMLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const RotaryTable& rope, KVCache* cache,
                                          std::size_t layer, const at::Tensor& key_valid) {
  at::Tensor h = x + self_attn(input_layernorm(x), rope, cache, layer, key_valid);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& c) : config_(c) {
  c.validate();
  model = register_module("model", LlamaModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head",
                              torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  // HF's initialisation: normal(0, 0.02) for every matrix; norms at one.
  at::NoGradGuard ng;
  for (auto& p : named_parameters(true))
    if (p.value().dim() == 2) p.value().normal_(0.0, 0.02);
}

namespace {

at::Tensor with_mean_rows(const at::Tensor& w, std::int64_t rows) {
  at::Tensor extra = w.to(at::kFloat).mean(0, true).expand({rows - w.size(0), w.size(1)}).to(w.dtype());
  return at::cat({w, extra}, 0);
}

}  // namespace

void LlamaForCausalLMImpl::grow_vocabulary(std::int64_t vocab) {
  if (vocab <= config_.vocab_size)
    throw Error("the vocabulary has " + std::to_string(config_.vocab_size) + " ids already, not fewer than " +
                std::to_string(vocab));
  at::NoGradGuard ng;
  model->embed_tokens->weight.set_data(with_mean_rows(model->embed_tokens->weight, vocab));
  model->embed_tokens->options.num_embeddings(vocab);
  if (lm_head) {
    lm_head->weight.set_data(with_mean_rows(lm_head->weight, vocab));
    lm_head->options.out_features(vocab);
  }
  config_.vocab_size = vocab;
}

at::Tensor LlamaForCausalLMImpl::embed(const at::Tensor& ids) {
  if (ids.dim() != 2) throw Error("token ids must be [batch, length]");
  return model->embed_tokens(ids);
}

at::Tensor LlamaForCausalLMImpl::hidden(const at::Tensor& embeds, KVCache* cache, const at::Tensor& key_valid) {
  if (embeds.dim() != 3 || embeds.size(2) != config_.hidden_size)
    throw Error("input embeddings must be [batch, length, " + std::to_string(config_.hidden_size) + "]");
  const std::int64_t T = embeds.size(1), past = cache ? cache->length : 0;
  if (cache && !cache->empty() && cache->k[0].size(0) != embeds.size(0))
    throw Error("KV cache batch " + std::to_string(cache->k[0].size(0)) + " does not match the input batch " +
                std::to_string(embeds.size(0)));
  if (key_valid.defined() && (key_valid.dim() != 2 || key_valid.size(1) != past + T))
    throw Error("key_valid must be [batch, past + length]");
  at::Tensor positions = at::arange(past, past + T, at::TensorOptions().dtype(at::kLong).device(embeds.device()));
  RotaryTable rope = rotary_table(config_, positions, embeds.options());
  at::Tensor h = embeds;
  const bool recompute = checkpointing && !cache && at::GradMode::is_enabled();
  for (std::size_t i = 0; i < model->layers->size(); ++i) {
    auto* layer = model->layers[i]->as<LlamaDecoderLayer>();
    if (recompute)
      h = nn::checkpointed(
          [layer, rope, key_valid, i](const at::Tensor& x) { return layer->forward(x, rope, nullptr, i, key_valid); },
          h);
    else h = layer->forward(h, rope, cache, i, key_valid);
  }
  if (cache) cache->length += T;
  return model->norm(h);
}

at::Tensor LlamaForCausalLMImpl::logits(const at::Tensor& h) {
  if (lm_head) return lm_head(h);
  return at::matmul(h, model->embed_tokens->weight.t());
}

at::Tensor LlamaForCausalLMImpl::forward(const at::Tensor& ids, KVCache* cache) {
  return logits(hidden(embed(ids), cache));
}

LlamaForCausalLM load_llama(const std::string& dir, at::ScalarType dtype, const std::string& prefix) {
  io::Checkpoint ck = io::load_checkpoint(dir);
  LlamaConfig cfg = LlamaConfig::from_json(ck.config);
  LlamaForCausalLM m(cfg);
  m->to(dtype);
  for (auto it = ck.tensors.begin(); it != ck.tensors.end();) {
    const std::string& n = it->first;
    static const std::string kInvFreq = "rotary_emb.inv_freq";
    const bool inv_freq =
        n.size() >= kInvFreq.size() && n.compare(n.size() - kInvFreq.size(), kInvFreq.size(), kInvFreq) == 0;
    it = inv_freq ? ck.tensors.erase(it) : std::next(it);
  }
  if (cfg.tie_word_embeddings) ck.tensors.erase(prefix + "lm_head.weight");  // some tied exports keep a copy
  try {
    nn::load_state_dict(*m, ck.tensors, prefix);
  } catch (const Error& e) {
    throw Error(dir + ": " + e.what());
  }
  m->eval();
  return m;
}

void save_llama(const std::string& dir, LlamaForCausalLM& model) {
  io::save_checkpoint(dir, model->config().to_json(), nn::state_dict(*model));
}

}  // namespace setok::llm
