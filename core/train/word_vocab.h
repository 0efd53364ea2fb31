#pragma once
// The word vocabulary of SeTok's text encoder (text_encoder.h): the lower-cased words of the
// label names and prompt templates a run trains with, kept in the model's config.json.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace setok::train {

// Lower-cased words; id 0 pads, id 1 is unknown.
class WordVocab {
 public:
  WordVocab() = default;
  explicit WordVocab(const std::vector<std::string>& texts);
  static std::vector<std::string> words(const std::string& text);
  std::vector<std::int64_t> encode(const std::string& text) const;
  // [B, L] ids (0-padded to the longest) for a batch of texts.
  at::Tensor encode_batch(const std::vector<std::string>& texts) const;
  std::size_t size() const { return words_.size(); }
  nlohmann::json to_json() const { return words_; }
  static WordVocab from_json(const nlohmann::json& j);

 private:
  std::vector<std::string> words_{"<pad>", "<unk>"};
  std::map<std::string, std::int64_t> ids_;
};

}  // namespace setok::train
