#include "core/tokenizer/token_set.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/io/safetensors.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_geometry.h"

namespace setok::tokenizer {

at::Tensor TokenSet::packed() const {
  if (descriptor_dims() == 0) return vectors;
  return at::cat({vectors, descriptors.to(vectors.scalar_type())}, 1);
}

TokenSet TokenSet::unpack(const at::Tensor& packed, std::int64_t token_dim, std::int64_t image_size) {
  if (packed.dim() != 2 || packed.size(1) < token_dim) throw Error("a token set's rows are narrower than its vectors");
  TokenSet s;
  s.vectors = packed.narrow(1, 0, token_dim).contiguous();
  s.descriptors = packed.narrow(1, token_dim, packed.size(1) - token_dim).contiguous();
  s.image_size = image_size;
  return s;
}

TokenSet TokenSet::select(const at::Tensor& index) const {
  TokenSet s = *this;
  s.vectors = vectors.index_select(0, index);
  if (descriptors.defined()) s.descriptors = descriptors.index_select(0, index);
  return s;
}

std::int64_t descriptor_dims(const DetokenizerOptions& detokenizer, int appearance) {
  const std::int64_t n = appearance > 0 ? appearance : detokenizer.region_appearance();
  return kGeometryDims + n * n;
}

TokenSet make_token_set(const SetokModelImpl& model, const at::Tensor& pixels, const Tokenized& t, int appearance) {
  at::NoGradGuard ng;
  const auto& o = model.detokenizer->options;
  if (appearance > 0 && o.region_appearance() > 0 && appearance != o.region_appearance())
    throw Error("the detokenizer reads appearance maps of another size");
  const int n = appearance > 0 ? appearance : static_cast<int>(o.region_appearance());
  const std::int64_t c = t.tokens.size(1);
  at::Tensor valid = t.clusters.token_valid[0].to(at::kBool);
  at::Tensor assign = t.clusters.masks[0].masked_fill(at::logical_not(valid).unsqueeze(0), -1).argmax(1);
  at::Tensor keep = valid.nonzero().squeeze(1).cpu();
  TokenSet s;
  s.vectors = t.tokens[0].detach().to(at::kCPU, at::kFloat).index_select(0, keep);
  s.descriptors = token_geometry(pixels[0].detach().cpu(), assign.cpu(), c, t.grid_h, t.grid_w, n)
                      .to(at::kFloat)
                      .index_select(0, keep);
  s.image_size = pixels.size(-1);
  return s;
}

at::Tensor draw_token_set(SetokModelImpl& model, const TokenSet& set, at::Tensor* place_logits) {
  const auto& o = model.detokenizer->options;
  if (set.count() == 0) throw Error("the token set is empty");
  if (set.token_dim() != o.token_dim())
    throw Error("the tokens have " + std::to_string(set.token_dim()) + " numbers; the model's detokenizer reads " +
                std::to_string(o.token_dim()));
  at::NoGradGuard ng;
  const at::Device dev = model.detokenizer->queries.device();
  at::Tensor regions;
  if (o.regions()) {
    const std::int64_t need = o.region_width();
    const bool fits = set.descriptor_dims() == need || (o.region_appearance() == 0 && set.descriptor_dims() >= need);
    if (!fits)
      throw Error("the tokens' descriptors have " + std::to_string(set.descriptor_dims()) +
                  " numbers; the model's detokenizer reads " + std::to_string(need));
    regions = set.descriptors.narrow(1, 0, need).unsqueeze(0).to(dev, at::kFloat);
  }
  at::Tensor tokens = set.vectors.unsqueeze(0).to(dev, at::kFloat);
  at::Tensor valid = at::ones({1, set.count()}, at::TensorOptions().dtype(at::kBool).device(dev));
  at::Tensor logits;
  at::Tensor pixels = model.detokenizer->forward(tokens, valid, o.broadcast() ? &logits : nullptr, regions);
  if (place_logits) *place_logits = logits.defined() ? logits[0] : at::Tensor();
  return pixels;
}

void save_token_set(const std::string& path, const TokenSet& set) {
  if (set.count() == 0) throw Error(path + ": the token set is empty");
  io::TensorMap m{{"vectors", set.vectors.detach().to(at::kCPU, at::kHalf).contiguous()}};
  if (set.descriptor_dims() > 0) m["descriptors"] = set.descriptors.detach().to(at::kCPU, at::kHalf).contiguous();
  io::save_safetensors(path, m,
                       {{"format", "setok-tokens"},
                        {"image_size", std::to_string(set.image_size)},
                        {"token_dim", std::to_string(set.token_dim())},
                        {"descriptor", "token_geometry"}});
}

TokenSet load_token_set(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error(path + ": no such file");
  std::unique_ptr<io::SafetensorsFile> file;
  try {
    file = std::make_unique<io::SafetensorsFile>(path);
  } catch (const Error& e) {
    throw Error(path + ": not a token set (" + e.what() + ")");
  }
  const io::SafetensorsFile& f = *file;
  const auto& meta = f.header().metadata;
  auto it = meta.find("format");
  if (it == meta.end() || it->second != "setok-tokens" || !f.contains("vectors"))
    throw Error(path + ": not a token set (setok tokenize --tokens writes them)");
  TokenSet s;
  s.vectors = f.tensor("vectors").to(at::kFloat).clone();
  if (f.contains("descriptors")) s.descriptors = f.tensor("descriptors").to(at::kFloat).clone();
  else s.descriptors = at::zeros({s.vectors.size(0), 0});
  if (s.vectors.dim() != 2 || s.descriptors.dim() != 2 || s.descriptors.size(0) != s.vectors.size(0))
    throw Error(path + ": vectors and descriptors disagree in shape");
  if (s.count() == 0) throw Error(path + ": the token set is empty");
  if (!at::isfinite(s.packed()).all().item<bool>()) throw Error(path + ": the tokens hold NaN or infinity");
  auto size = meta.find("image_size");
  try {
    s.image_size = size == meta.end() ? 0 : std::stoll(size->second);
  } catch (const std::exception&) {
    throw Error(path + ": image_size is not a number");
  }
  return s;
}

}  // namespace setok::tokenizer
