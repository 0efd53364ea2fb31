#include "core/llm/text_tokenizer.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/llm/spm_shim.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::llm {
namespace {

struct Spm {
  setok_spm_load_fn load = nullptr;
  setok_spm_free_fn free = nullptr;
  setok_spm_info_fn info = nullptr;
  setok_spm_piece_id_fn piece_id = nullptr;
  setok_spm_is_control_fn is_control = nullptr;
  setok_spm_encode_fn encode = nullptr;
  setok_spm_decode_fn decode = nullptr;
  setok_spm_release_fn release = nullptr;
  setok_spm_train_fn train = nullptr;
  std::string error;  // why it could not be loaded
};

std::vector<std::string> candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("SETOK_SPM_LIBRARY"); env && *env) c.push_back(env);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    fs::path dir = fs::path(exe).parent_path();
    c.push_back((dir / "libsetok_spm.so").string());
    c.push_back((dir.parent_path() / "lib" / "libsetok_spm.so").string());
    c.push_back((dir.parent_path() / "lib" / "setok" / "libsetok_spm.so").string());
  }
#ifdef SETOK_SPM_BUILD_PATH
  c.push_back(SETOK_SPM_BUILD_PATH);
#endif
  return c;
}

const Spm& spm() {
  static Spm s;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string tried;
    for (const auto& path : candidates()) {
      if (!fs::exists(path)) {
        tried += (tried.empty() ? "" : ", ") + path;
        continue;
      }
      // A link-map namespace of its own (with its own C++ runtime): SentencePiece's bundled
      // protobuf must not meet LibTorch's, and RTLD_DEEPBIND alone breaks on the C++ runtime's
      // copy-relocated globals (std::cerr). Only C types and the module's own allocations cross.
      lib = ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib) break;
      tried += (tried.empty() ? "" : ", ") + path + " (" + ::dlerror() + ")";
    }
    if (!lib) {
      s.error = "SentencePiece module libsetok_spm.so not found (tried " + tried + "; set SETOK_SPM_LIBRARY)";
      return;
    }
    auto get = [&](const char* name) {
      void* f = ::dlsym(lib, name);
      if (!f) s.error = std::string("libsetok_spm.so lacks ") + name;
      return f;
    };
    s.load = reinterpret_cast<setok_spm_load_fn>(get("setok_spm_load"));
    s.free = reinterpret_cast<setok_spm_free_fn>(get("setok_spm_free"));
    s.info = reinterpret_cast<setok_spm_info_fn>(get("setok_spm_info"));
    s.piece_id = reinterpret_cast<setok_spm_piece_id_fn>(get("setok_spm_piece_id"));
    s.is_control = reinterpret_cast<setok_spm_is_control_fn>(get("setok_spm_is_control"));
    s.encode = reinterpret_cast<setok_spm_encode_fn>(get("setok_spm_encode"));
    s.decode = reinterpret_cast<setok_spm_decode_fn>(get("setok_spm_decode"));
    s.release = reinterpret_cast<setok_spm_release_fn>(get("setok_spm_release"));
    s.train = reinterpret_cast<setok_spm_train_fn>(get("setok_spm_train"));
  });
  if (!s.error.empty()) throw Error(s.error);
  return s;
}

}  // namespace

struct TextTokenizer::Handle {
  void* p = nullptr;
  ~Handle() {
    if (p) spm().free(p);
  }
};

TextTokenizer::TextTokenizer() : h_(std::make_unique<Handle>()) {}
TextTokenizer::TextTokenizer(TextTokenizer&&) noexcept = default;
TextTokenizer& TextTokenizer::operator=(TextTokenizer&&) noexcept = default;
TextTokenizer::~TextTokenizer() = default;

TextTokenizer TextTokenizer::load(const std::string& path) {
  fs::path p(path);
  if (fs::is_directory(p)) p /= "tokenizer.model";
  if (!fs::exists(p)) throw Error(p.string() + ": no such tokenizer model");
  const Spm& s = spm();
  TextTokenizer t;
  char err[512] = {0};
  if (s.load(p.string().c_str(), &t.h_->p, err, sizeof err) != 0)
    throw Error(p.string() + ": not a SentencePiece model (" + err + ")");
  int info[4];
  s.info(t.h_->p, info);
  t.base_vocab_ = info[0];
  t.bos_ = info[1];
  t.eos_ = info[2];
  const int b = s.piece_id(t.h_->p, kImgBegin), e = s.piece_id(t.h_->p, kImgEnd);
  std::int64_t next = t.base_vocab_;
  t.img_begin_ = b >= 0 ? b : next++;
  t.img_end_ = e >= 0 ? e : next++;
  return t;
}

void TextTokenizer::train(const std::vector<std::string>& sentences, const std::string& prefix, int vocab_size,
                          bool image_pieces) {
  if (sentences.empty()) throw Error("tokenizer training needs text");
  if (vocab_size < 8) throw Error("tokenizer vocabulary must have at least 8 pieces");
  const Spm& s = spm();
  std::vector<const char*> ptrs;
  ptrs.reserve(sentences.size());
  for (const auto& x : sentences) ptrs.push_back(x.c_str());
  const std::string args = "--model_prefix=" + prefix + " --vocab_size=" + std::to_string(vocab_size) +
                           " --model_type=unigram --character_coverage=1.0" +
                           (image_pieces ? std::string(" --user_defined_symbols=") + kImgBegin + "," + kImgEnd : "") +
                           " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --byte_fallback=true" +
                           " --num_threads=1 --minloglevel=2 --hard_vocab_limit=false" +
                           // As LLaMA's: no normalisation, so newlines and runs of spaces survive.
                           " --normalization_rule_name=identity --remove_extra_whitespaces=false" +
                           // Segments are encoded one by one (chat template): no space is invented at their start.
                           " --add_dummy_prefix=false";
  char err[512] = {0};
  if (s.train(args.c_str(), ptrs.data(), ptrs.size(), err, sizeof err) != 0)
    throw Error(std::string("tokenizer training failed: ") + err);
}

std::vector<std::int64_t> TextTokenizer::encode(const std::string& text, bool add_bos) const {
  const Spm& s = spm();
  std::vector<std::int64_t> out;
  if (add_bos) out.push_back(bos_id());
  auto encode_plain = [&](const std::string& piece) {
    if (piece.empty()) return;
    int* ids = nullptr;
    std::size_t n = 0;
    char err[512] = {0};
    if (s.encode(h_->p, piece.data(), piece.size(), &ids, &n, err, sizeof err) != 0)
      throw Error(std::string("tokenizer: ") + err);
    out.insert(out.end(), ids, ids + n);
    s.release(ids);
  };
  const std::string marks[4] = {kImgBegin, kImgEnd, kSeg, kNull};
  const std::int64_t mark_ids[4] = {img_begin_, img_end_, seg_id(), null_id()};
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t next = std::string::npos;
    int which = -1;
    for (int k = 0; k < 4; ++k) {
      const std::size_t p = text.find(marks[k], pos);
      if (p < next) next = p, which = k;
    }
    if (which < 0) {
      encode_plain(text.substr(pos));
      break;
    }
    encode_plain(text.substr(pos, next - pos));
    out.push_back(mark_ids[which]);
    pos = next + marks[which].size();
  }
  return out;
}

std::string TextTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  const Spm& s = spm();
  std::vector<int> keep;
  keep.reserve(ids.size());
  for (auto id : ids) {
    if (id < 0 || id >= base_vocab_ || id == img_begin_ || id == img_end_) continue;
    if (s.is_control(h_->p, static_cast<int>(id))) continue;
    keep.push_back(static_cast<int>(id));
  }
  char* text = nullptr;
  std::size_t len = 0;
  char err[512] = {0};
  if (s.decode(h_->p, keep.data(), keep.size(), &text, &len, err, sizeof err) != 0)
    throw Error(std::string("tokenizer: ") + err);
  std::string out(text, len);
  s.release(text);
  return out;
}

std::int64_t TextTokenizer::vocab_size() const { return std::max(base_vocab_, std::max(img_begin_, img_end_) + 1); }
std::int64_t TextTokenizer::bos_id() const { return bos_; }
std::int64_t TextTokenizer::eos_id() const { return eos_; }

}  // namespace setok::llm
