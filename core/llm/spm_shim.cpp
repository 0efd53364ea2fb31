// libsetok_spm: SentencePiece behind a C interface (spm_shim.h). Links nothing but SentencePiece.
#include "core/llm/spm_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define SETOK_SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
int fail(const std::string& msg, char* err, int err_len) {
  if (err && err_len > 0) {
    std::strncpy(err, msg.c_str(), static_cast<std::size_t>(err_len - 1));
    err[err_len - 1] = '\0';
  }
  return 1;
}
sentencepiece::SentencePieceProcessor* sp(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h); }
}  // namespace

SETOK_SPM_EXPORT int setok_spm_load(const char* path, void** handle, char* err, int err_len) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  auto st = p->Load(path);
  if (!st.ok()) {
    delete p;
    return fail(st.ToString(), err, err_len);
  }
  *handle = p;
  return 0;
}

SETOK_SPM_EXPORT void setok_spm_free(void* handle) { delete sp(handle); }

SETOK_SPM_EXPORT void setok_spm_info(void* handle, int* info) {
  info[0] = sp(handle)->GetPieceSize();
  info[1] = sp(handle)->bos_id();
  info[2] = sp(handle)->eos_id();
  info[3] = sp(handle)->unk_id();
}

SETOK_SPM_EXPORT int setok_spm_piece_id(void* handle, const char* piece) {
  const int id = sp(handle)->PieceToId(piece);
  return sp(handle)->IdToPiece(id) == piece ? id : -1;
}

SETOK_SPM_EXPORT int setok_spm_is_control(void* handle, int id) { return sp(handle)->IsControl(id) ? 1 : 0; }

SETOK_SPM_EXPORT int setok_spm_encode(void* handle, const char* text, std::size_t len, int** ids, std::size_t* n,
                                      char* err, int err_len) {
  std::vector<int> v;
  auto st = sp(handle)->Encode(std::string(text, len), &v);
  if (!st.ok()) return fail(st.ToString(), err, err_len);
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (v.empty() ? 1 : v.size())));
  if (!*ids) return fail("out of memory", err, err_len);
  std::memcpy(*ids, v.data(), sizeof(int) * v.size());
  *n = v.size();
  return 0;
}

SETOK_SPM_EXPORT int setok_spm_decode(void* handle, const int* ids, std::size_t n, char** text, std::size_t* len,
                                      char* err, int err_len) {
  std::string s;
  auto st = sp(handle)->Decode(std::vector<int>(ids, ids + n), &s);
  if (!st.ok()) return fail(st.ToString(), err, err_len);
  *text = static_cast<char*>(std::malloc(s.size() + 1));
  if (!*text) return fail("out of memory", err, err_len);
  std::memcpy(*text, s.data(), s.size());
  (*text)[s.size()] = '\0';
  *len = s.size();
  return 0;
}

SETOK_SPM_EXPORT void setok_spm_release(void* p) { std::free(p); }

SETOK_SPM_EXPORT int setok_spm_train(const char* args, const char* const* sentences, std::size_t n, char* err,
                                     int err_len) {
  class Iter : public sentencepiece::SentenceIterator {
   public:
    Iter(const char* const* s, std::size_t n) : s_(s), n_(n) {
      if (n_) cur_ = s_[0];
    }
    bool done() const override { return i_ >= n_; }
    void Next() override {
      if (++i_ < n_) cur_ = s_[i_];
    }
    const std::string& value() const override { return cur_; }
    sentencepiece::util::Status status() const override { return {}; }

   private:
    const char* const* s_;
    std::size_t n_, i_ = 0;
    std::string cur_;
  } it(sentences, n);
  auto st = sentencepiece::SentencePieceTrainer::Train(args, &it);
  return st.ok() ? 0 : fail(st.ToString(), err, err_len);
}
