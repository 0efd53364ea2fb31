#pragma once
// SeTok evaluation on held-out data (issue: grouping, token count, reconstruction, concepts).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/data/setok_data.h"
#include "core/tokenizer/setok_model.h"

namespace setok::eval {

struct SetokEvalOptions {
  std::int64_t limit = 0;  // images to use (0: all)
  int batch_size = 16;
  // The clustering to evaluate; none: the model's own (its config.json's "cluster").
  std::optional<tokenizer::ClusterParams> cluster;
};

// Foreground ARI and matched mIoU of hard token masks against instance masks (at the model's
// input resolution), tokens per image and their agreement with objects + 1, PSNR / SSIM / L1 of
// the reconstruction, and concept zero-shot top-1 when the model folder has its text encoder.
nlohmann::json evaluate_setok(tokenizer::SetokModel& model, const std::string& model_dir,
                              const train::SetokDataset& data, const SetokEvalOptions& options);

}  // namespace setok::eval
