#pragma once
// Post-training calibration of the clustering settings on a validation split.
//
// Training moves the encoder's features but barely moves the kernel bandwidth σ (its gradient is
// weak), and β is fixed; the number of tokens a trained model makes depends on both. This picks
// (σ, β) from a grid by what the tokenizer is for: the foreground ARI of the hard masks plus the
// share of images whose token count is within one of objects + background, measured on a split
// that is neither the training nor the test split. The encoder runs once per image; only the
// clustering is repeated per grid point.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/setok_data.h"
#include "core/tokenizer/setok_model.h"

namespace setok::eval {

struct CalibrationOptions {
  std::vector<double> bandwidths{0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5};
  std::vector<double> betas{0.0, 0.5, 1.0, 2.0};
  // split_islands values to try as well (ClusterParams::split_islands; 0 is off); empty: keep the
  // model's own and search σ, β only.
  std::vector<int> islands;
  // min_region_patches values to try as well (ClusterParams::min_region_patches; 0 is off); empty:
  // keep the model's own.
  std::vector<int> min_region_patches;
  // edge_passes values to try as well (ClusterParams::edge_passes; 0 is off); empty: keep the
  // model's own.
  std::vector<int> edge_passes;
  std::int64_t limit = 0;  // validation images to use (0: all)
  int batch_size = 16;
};

struct Calibration {
  double bandwidth = 0, beta = 0;
  int islands = 0;             // the chosen split_islands (the model's own when the grid had none)
  int min_region_patches = 0;  // the chosen min_region_patches (likewise)
  int edge_passes = 0;         // the chosen edge_passes (likewise)
  double fg_ari = 0, within_one = 0, tokens_per_image = 0;
  double before_fg_ari = 0, before_within_one = 0;  // the model's own settings on the same images
  nlohmann::json table;                             // one row per grid point
};

// Evaluates the grid and returns the best point (ties: the earlier one). The model is only read.
Calibration calibrate_clustering(tokenizer::SetokModel& model, const train::SetokDataset& val,
                                 const CalibrationOptions& options);

// `params` with (σ, β), split_islands when islands >= 0, min_region_patches when min_patches >= 0
// and edge_passes when edge_passes >= 0. Throws setok::Error on values out of range.
tokenizer::ClusterParams with_clustering(tokenizer::ClusterParams params, double bandwidth, double beta,
                                         int islands = -1, int min_patches = -1, int edge_passes = -1);

// Rewrites a model folder's config.json ("cluster") and, when σ is a learned parameter, its
// weights, keeping every other key and tensor (and the tensors' dtypes). Atomic per file.
// islands >= 0 writes split_islands too (0 removes it: off); min_patches >= 0 likewise
// min_region_patches, and edge_passes >= 0 edge_passes.
void write_clustering(const std::string& model_dir, double bandwidth, double beta, int islands = -1,
                      int min_patches = -1, int edge_passes = -1);
// Loads the model folder, picks σ and β on the dataset `val_data` (default grid) and writes them
// into the folder: what training does to its final model when it has a validation split.
Calibration calibrate_model_folder(const std::string& model_dir, const std::string& val_data);

}  // namespace setok::eval
