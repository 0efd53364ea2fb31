#pragma once
// SentencePiece text tokenizer (a LLaMA `tokenizer.model`) with the image delimiters `[Img]` and
// `[/Img]` as special tokens. A model trained here has them as user-defined pieces; a LLaMA model
// without them gets them appended after its vocabulary (ids vocab, vocab + 1), as HuggingFace's
// added tokens are, and the language model's embedding table must grow to match.
// The segmentation token `[SEG]` (paper §2.2, LISA) comes after those: id vocab_size(). It is not
// counted in vocab_size(): a language model has it only once its tables have grown a row for it
// (has_seg_token), which Stage II's referring training does. The null prompt `[Null]` (id
// vocab_size() + 1) stands where a generation request's description would: the learned null
// condition of classifier-free guidance (core/mllm/generation_request.h); generation training grows
// the tables for it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace setok::llm {

inline constexpr const char* kImgBegin = "[Img]";
inline constexpr const char* kImgEnd = "[/Img]";
inline constexpr const char* kSeg = "[SEG]";
inline constexpr const char* kNull = "[Null]";

class TextTokenizer {
 public:
  // Loads `tokenizer.model` (a file, or a folder holding one). Throws setok::Error.
  static TextTokenizer load(const std::string& path);
  // Trains a unigram SentencePiece model on `sentences` and writes PREFIX.model (and PREFIX.vocab),
  // with [Img] and [/Img] as user-defined pieces and LLaMA's <unk>=0, <s>=1, </s>=2 layout.
  // image_pieces=false leaves the delimiters out of the vocabulary (as in LLaMA's own model).
  static void train(const std::vector<std::string>& sentences, const std::string& prefix, int vocab_size,
                    bool image_pieces = true);

  TextTokenizer(TextTokenizer&&) noexcept;
  TextTokenizer& operator=(TextTokenizer&&) noexcept;
  ~TextTokenizer();

  // [Img] / [/Img] / [SEG] / [Null] in the text become their ids; the rest is SentencePiece's encoding.
  std::vector<std::int64_t> encode(const std::string& text, bool add_bos = false) const;
  // Special and control tokens (BOS, EOS, image delimiters) are dropped from the text.
  std::string decode(const std::vector<std::int64_t>& ids) const;

  std::int64_t vocab_size() const;  // including appended specials
  std::int64_t bos_id() const;
  std::int64_t eos_id() const;
  std::int64_t img_begin_id() const { return img_begin_; }
  std::int64_t img_end_id() const { return img_end_; }
  std::int64_t seg_id() const { return vocab_size(); }
  // Whether a language model with this many rows in its embedding table has [SEG].
  bool has_seg_token(std::int64_t model_vocab) const { return model_vocab > seg_id(); }
  std::int64_t null_id() const { return vocab_size() + 1; }
  bool has_null_token(std::int64_t model_vocab) const { return model_vocab > null_id(); }

 private:
  TextTokenizer();
  struct Handle;
  std::unique_ptr<Handle> h_;
  std::int64_t img_begin_ = -1, img_end_ = -1, base_vocab_ = 0, bos_ = -1, eos_ = -1;
};

}  // namespace setok::llm
