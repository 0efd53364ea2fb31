#include "core/train/word_vocab.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <set>

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

}  // namespace setok::train
