#pragma once
// `setok eval generate`: GenEval-style scoring of SeTokim's pictures (docs/design/metrics.md). Each
// prompt of a split is drawn from its prompt alone; the judge finds the picture's objects
// (picture_objects.h); the picture is right only when its objects are exactly the prompt's — every
// object with its class, colour and third of the picture, as many of each as asked, and nothing
// else. The prompt's own picture (the world's, exact) gives the judge's ceiling, and the same picture
// through SeTokim's tokenizer and detokenizer the ceiling the tokens allow.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/mllm/image_writer.h"

namespace setok::eval {

struct GenerationEvalOptions {
  std::string model;  // a SeTokim folder with a diffusion head
  std::string data;   // a scenes folder: annotations/prompts_SPLIT.jsonl and instances_SPLIT.json
  std::string split = "test";
  std::string judge;  // an object judge folder
  std::string setok;  // the SeTok that finds regions in the pictures (the bundled one)
  std::int64_t limit = 0;
  mllm::ImageWriting writing;
  std::string out;  // when set, every picture drawn goes here (OUT/<image file name>)
  // Also draw each picture with every earlier token the true one (the prompt's picture's tokens in
  // writing order): the head's fidelity apart from the drift of writing ("teacher_forced").
  bool teacher_forced = false;
  // Diversity: each prompt is also drawn with the next seeds-1 seeds, and the pictures of one prompt
  // are compared in the encoder's feature space (FID-setok's): the mean of 1 − cosine over pairs.
  std::int64_t seeds = 1;
};

// progress(done, total) may return false to stop early (the figures then cover what was done).
nlohmann::json evaluate_generation(const GenerationEvalOptions& options,
                                   const std::function<bool(std::int64_t, std::int64_t)>& progress = nullptr);

}  // namespace setok::eval
