#pragma once
// `setok train judge`: the object judge (core/eval/object_judge.h) learnt from the scenes world's
// annotated objects — each object's crop with its mask, labelled with its class and colour — and,
// as "no object", each image's background (the pixels of no object). With regions_from (a SeTok),
// also the regions the judge is shown in use: that SeTok's tokens of each picture, labelled with the
// object they cover (IoU ≥ 0.5) or "no object" (under a fifth of their pixels on any object).
// Scored on another split's crops: what its card reports.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace setok::train {

struct JudgeTrainConfig {
  std::string train_instances;  // COCO instances of the scenes world (images relative to its folder)
  std::string val_instances;    // held out: the judge's accuracy
  std::string out;
  std::string regions_from;  // a SeTok folder (empty: ground-truth masks only)
  std::int64_t max_images = 3000, steps = 1500, batch_size = 128;
  double lr = 1e-3;
  std::uint64_t seed = 0;
};

// Writes OUT/judge.json, OUT/judge.safetensors and OUT/metrics.json; returns the metrics
// (class, colour and "no object" accuracy on the held-out crops). Progress lines on stderr.
nlohmann::json train_judge(const JudgeTrainConfig& config);

// The judge's accuracy on a split's crops (what train_judge reports).
nlohmann::json judge_accuracy(const std::string& judge_dir, const std::string& instances, std::int64_t max_images);

}  // namespace setok::train
