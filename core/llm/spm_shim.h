#pragma once
// The C interface of libsetok_spm, a small module that wraps SentencePiece. Debian's
// libsentencepiece carries its own copy of protobuf (3.14) with exported symbols, while LibTorch
// links the system's libprotobuf (3.21): in one symbol scope they collide and the program crashes
// at start-up. So SentencePiece is only ever loaded into a scope of its own (dlopen with
// dlmopen into a new link-map namespace, see text_tokenizer.cpp), behind this interface.
#include <cstddef>

extern "C" {
// Each returns 0 on success; on failure, non-zero with a message in err (NUL-terminated).
typedef int (*setok_spm_load_fn)(const char* path, void** handle, char* err, int err_len);
typedef void (*setok_spm_free_fn)(void* handle);
// info: [piece count, bos, eos, unk]
typedef void (*setok_spm_info_fn)(void* handle, int* info);
// The id of a piece, or -1 when the vocabulary has no such piece.
typedef int (*setok_spm_piece_id_fn)(void* handle, const char* piece);
typedef int (*setok_spm_is_control_fn)(void* handle, int id);
// *ids is malloc'ed (free with setok_spm_release).
typedef int (*setok_spm_encode_fn)(void* handle, const char* text, std::size_t len, int** ids, std::size_t* n,
                                   char* err, int err_len);
// *text is malloc'ed (free with setok_spm_release).
typedef int (*setok_spm_decode_fn)(void* handle, const int* ids, std::size_t n, char** text, std::size_t* len,
                                   char* err, int err_len);
typedef void (*setok_spm_release_fn)(void* p);
typedef int (*setok_spm_train_fn)(const char* args, const char* const* sentences, std::size_t n, char* err,
                                  int err_len);
}
