#pragma once
// What every engine request shares: the progress callback, the status a result comes back with and
// the result callback. Torch-free (ui/ includes it through engine.h).
#include <functional>

namespace setok::engine {

// Called between stages with the fraction done; returning false cancels the request, as
// llama.cpp's progress callbacks do.
using Progress = std::function<bool(float)>;

enum class Status { kOk, kCancelled, kSuperseded, kError };
const char* to_string(Status s);

// Receives a request's one result, on the worker thread that ran it.
template <class R>
using Done = std::function<void(R)>;

}  // namespace setok::engine
