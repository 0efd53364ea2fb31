#pragma once
// SeTokim's evaluations on a dataset folder in the scenes world's layout (images/ + annotations/):
// VQA (exact match after normalisation, overall and per question type, from llava_SPLIT.json),
// captioning (CIDEr-D against captions_SPLIT.json) and a POPE-style probe (one present and one
// absent object per image of instances_SPLIT.json, the absent one drawn with a fixed seed).
// What `setok eval vqa|caption|pope` prints. Torch-free header.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/eval/pope_metrics.h"
#include "core/mllm/loaded_setokim.h"

namespace setok::eval {

struct MllmEvalOptions {
  std::string data;            // the dataset folder
  std::string split = "test";  // annotations/*_SPLIT.*
  std::int64_t limit = 0;      // images to use (0: all)
  // VQA: text cut from the end of each question before asking (how the model answers plainly).
  std::string drop_suffix;
  // POPE: the question's wording, {object} and {a} standing for the object's name and article.
  std::string pope_question = kPopeQuestion;
};

struct MllmEvalResult {
  // The scores, the images used and the speed (visual tokens per image, prefill and encode ms,
  // decode tokens/s).
  nlohmann::json scores;
  // One object per question: image, type, question, prediction, answers (accepted) and correct
  // (captions: cider_d).
  std::vector<nlohmann::json> answers;
};

// Each throws setok::Error with a one-line reason (a missing split or image, a split with nothing
// to ask).
MllmEvalResult evaluate_vqa(const mllm::LoadedSetokim& model, const MllmEvalOptions& options);
MllmEvalResult evaluate_caption(const mllm::LoadedSetokim& model, const MllmEvalOptions& options);
MllmEvalResult evaluate_pope(const mllm::LoadedSetokim& model, const MllmEvalOptions& options);

}  // namespace setok::eval
