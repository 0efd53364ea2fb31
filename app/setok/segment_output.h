#pragma once
// What `setok segment` writes, checked before the model is loaded (so that a bad path fails at
// once and leaves nothing behind), and the JSON every form gives a mask.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "core/heads/segmenter.h"

namespace setok::cli {

// Throws setok::Error when `path` (given with `flag`, e.g. "--mask") is empty, a folder, or in a
// folder that does not exist.
void check_output_file(const std::string& path, const std::string& flag);

// Throws setok::Error when the folder `path` (given with `flag`, e.g. "--out") could not be made:
// it is a file, or the nearest part of it that exists is not a writable folder. Creates nothing.
void check_output_dir(const std::string& path, const std::string& flag);
// Creates it (and the folders above it) if it is not there. Throws setok::Error with the reason.
void make_output_dir(const std::string& path, const std::string& flag);

// A score in [0, 1] to 4 decimals: 0.9, not the float's 0.8999999761581421.
double score_json(float v);
// {"predicted_iou", "area", "bbox"} (bbox: x, y, width, height, as COCO).
nlohmann::json candidate_json(const heads::MaskCandidate& c);

double ms_since(std::chrono::steady_clock::time_point t0);

}  // namespace setok::cli
