#pragma once
// `setok eval edit`: SeTokim's edits scored on the picture against the world's exact targets
// (docs/design/metrics.md). For each triplet of a split: L1 and L2 on [0, 1] pixels against the
// target (MagicBrush's; L2 is the mean squared difference), L1 inside and outside the edited region
// (the pixels where input and target differ; outside is preservation), and success: the objects the
// judge finds in the edited picture (picture_objects.h: class, colour, third) are exactly those it
// finds in the target — the asked change is there and nothing else changed. The model's picture is
// the tools' (the input's pixels wherever the edit drew nothing, mllm::composite_edit); the same
// edits drawn whole from their tokens are scored beside it. Beside the model:
// the identity edit (output = input), regenerating every token instead of only the concerned ones,
// and the target through SeTokim's tokenizer and detokenizer (the ceiling the tokens allow).
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/mllm/image_editor.h"

namespace setok::eval {

struct EditEvalOptions {
  std::string model;  // a SeTokim folder with a diffusion head, trained to edit
  std::string data;   // a scenes folder: annotations/edits_SPLIT.jsonl
  std::string split = "test";
  std::string judge;  // an object judge folder
  std::string setok;  // the SeTok that finds regions in the pictures (the bundled one)
  std::int64_t limit = 0;
  mllm::ImageEditing editing;
  std::string out;        // when set, every edited picture goes here (OUT/<edited image's file name>)
  bool baselines = true;  // also score the identity edit, regenerate-all and the target through tokens
};

// progress(done, total) may return false to stop early (the figures then cover what was done).
nlohmann::json evaluate_editing(const EditEvalOptions& options,
                                const std::function<bool(std::int64_t, std::int64_t)>& progress = nullptr);

// The edit's kind from the world's edited image name (…_recolour.png → "recolour"; else "other").
std::string edit_kind(const std::string& edited_image);

}  // namespace setok::eval
