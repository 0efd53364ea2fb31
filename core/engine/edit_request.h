#pragma once
// Editing and generation through the engine (issue 43): an instruction on an image, or a prompt
// for a new picture, answered by the engine's SeTokim and its diffusion head (core/mllm/
// image_editor.h, image_writer.h), on the SeTokim worker. Torch-free (ui/ includes it).
#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/request_status.h"
#include "core/io/image.h"

namespace setok::engine {

struct EditRequest {
  io::Image image;          // the picture to edit; empty with a prompt: draw a new one
  std::string instruction;  // an edit of `image`
  std::string prompt;       // or a picture to draw (image empty)
  // A selection of the image's size (non-zero = selected): only the tokens under it may change.
  // Empty: the whole picture.
  std::vector<std::uint8_t> region;
  std::uint64_t seed = 0;
  double cfg = 3.0;        // classifier-free guidance (1: none)
  std::int64_t steps = 0;  // diffusion steps per token (0: the head's)
  double temperature = 1.0;
  std::uint64_t id = 0;
};

struct EditOutcome {
  std::uint64_t id = 0;
  Status status = Status::kOk;
  std::string error;                                 // one line, for kError
  io::Image picture;                                 // at the input's size (a drawn one: the model's)
  std::vector<std::int64_t> kept, changed, removed;  // the input's tokens (writing order)
  std::int64_t added = 0, written = 0;
  double ms = 0, load_model_ms = 0;
  std::string model_name;
  bool ok() const { return status == Status::kOk; }
};

}  // namespace setok::engine
