#include "core/train/text_encoder.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cctype>
#include <set>

#include "core/nn/precision.h"
#include "core/nn/transformer_block.h"
#include "core/runtime/error.h"

namespace setok::train {

std::vector<std::string> WordVocab::words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      w += static_cast<char>(std::tolower(c));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

WordVocab::WordVocab(const std::vector<std::string>& texts) {
  std::set<std::string> all;
  for (const auto& t : texts)
    for (auto& w : words(t)) all.insert(w);
  words_.insert(words_.end(), all.begin(), all.end());
  for (std::size_t i = 0; i < words_.size(); ++i) ids_[words_[i]] = static_cast<std::int64_t>(i);
}

WordVocab WordVocab::from_json(const nlohmann::json& j) {
  WordVocab v;
  v.words_ = j.get<std::vector<std::string>>();
  if (v.words_.size() < 2 || v.words_[0] != "<pad>" || v.words_[1] != "<unk>") throw Error("malformed word vocabulary");
  for (std::size_t i = 0; i < v.words_.size(); ++i) v.ids_[v.words_[i]] = static_cast<std::int64_t>(i);
  return v;
}

std::vector<std::int64_t> WordVocab::encode(const std::string& text) const {
  std::vector<std::int64_t> ids;
  for (const auto& w : words(text)) {
    auto it = ids_.find(w);
    ids.push_back(it == ids_.end() ? 1 : it->second);
  }
  if (ids.empty()) ids.push_back(1);
  return ids;
}

at::Tensor WordVocab::encode_batch(const std::vector<std::string>& texts) const {
  std::vector<std::vector<std::int64_t>> rows;
  std::size_t len = 1;
  for (const auto& t : texts) {
    rows.push_back(encode(t));
    len = std::max(len, rows.back().size());
  }
  at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), static_cast<int64_t>(len)}, at::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) a[i][j] = rows[i][j];
  return out;
}

TextEncoderImpl::TextEncoderImpl(const TextEncoderOptions& o) : options(o) {
  embed = register_module("embed", torch::nn::Embedding(o.vocab_size(), o.dim()));
  position = register_parameter("position", at::randn({1, o.max_len(), o.dim()}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers(); ++i) blocks->push_back(nn::TransformerBlock(nn::TransformerBlockOptions(o.dim(), o.heads())));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  proj = register_module("proj", torch::nn::Linear(o.dim(), o.out_dim()));
}

at::Tensor TextEncoderImpl::forward(const at::Tensor& ids_in) {
  at::Tensor ids = ids_in.narrow(1, 0, std::min<int64_t>(ids_in.size(1), options.max_len()));
  at::Tensor valid = ids != 0;  // [B, L]
  at::Tensor x = embed->forward(ids) + position.narrow(1, 0, ids.size(1));
  at::Tensor mask = valid.unsqueeze(1).expand({ids.size(0), ids.size(1), ids.size(1)});
  for (const auto& b : *blocks) x = b->as<nn::TransformerBlock>()->forward(x, mask);
  x = norm->forward(nn::autocast_f32(x));
  at::Tensor w = valid.unsqueeze(2).to(x.scalar_type());
  at::Tensor pooled = (x * w).sum(1) / w.sum(1).clamp_min(1.0);
  return proj->forward(pooled);
}

TokenHeadImpl::TokenHeadImpl(int64_t dim, int64_t hidden) {
  if (dim < 1 || hidden < 1) throw Error("token head: dim and hidden must be positive");
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
  torch::NoGradGuard ng;
  fc2->weight.zero_();
  fc2->bias.zero_();
}

at::Tensor TokenHeadImpl::forward(const at::Tensor& tokens) {
  at::Tensor h = norm->forward(nn::autocast_f32(tokens));
  return tokens + fc2->forward(at::gelu(fc1->forward(h)));
}

}  // namespace setok::train
