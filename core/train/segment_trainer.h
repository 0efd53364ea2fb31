#pragma once
// `setok train segment`: the mask decoder learns over a frozen SeTokim (the paper's end of Stage I).
// Each step draws objects and, for each, one kind of prompt the way people use the tool:
//   - a referring request (one of the object's sentences), sometimes with a click;
//   - clicks as interactive-segmentation papers simulate them: the first inside the object (at its
//     interior point, the pixel farthest from its edge, or anywhere in it), the next ones in the
//     largest error region of the decoder's own previous answer (positive on a miss, negative on a
//     spill), that answer's low-resolution logits fed back as the dense prompt;
//   - a box around the object, jittered; or the SeTok tokens that make up most of it as a starting
//     mask ("start from token").
// Loss: BCE 2.0 + Dice 0.5 (LISA) on the refined full-resolution mask and on the low-resolution
// masks (for one ambiguous click, the best of the alternatives only, as SAM trains them), the IoU
// head's squared error, and which visual tokens the request refers to (BCE).
#include <nlohmann/json.hpp>
#include <string>

#include "core/heads/mask_decoder_config.h"
#include "core/train/progress.h"
#include "core/train/setok_trainer.h"

namespace setok::train {

struct SegmentTrainConfig {
  std::string setokim;  // the SeTokim folder (empty: the bundled one)
  std::string data;     // a scenes folder with the training split
  std::string split = "train", val_split = "val";
  std::int64_t max_images = 0, val_images = 200;
  bool language = true;  // train the language prompts too (else clicks only)
  // Ask each training sentence in one of heads::referring_wordings() (fixed per sentence) instead of
  // "Segment {}.", so that requests typed in a chat work too.
  bool vary_wording = false;
  nlohmann::json decoder = nlohmann::json::object();                   // MaskDecoderConfig overrides
  double language_rate = 0.4, box_rate = 0.1, token_start_rate = 0.1;  // the rest: clicks
  int max_click_rounds = 3;  // extra simulated clicks after the first, at most
  // Of the clicks, the share whose first click starts from the SeTok token under it (the dense
  // prompt the segmenter gives a lone click); the rest learn the click alone.
  double click_token_rate = 0;
  // Per training image, this many zoomed crops around its objects as images of their own
  // (SegmentDataOptions::zoom_crops): the decoder learns what a click's zoomed view looks like.
  int zoom_crops = 0;
  std::string out = "runs/segment";
  std::uint64_t seed = 0;
  std::int64_t batch_size = 32, steps = 3000, warmup_steps = 100, log_every = 20, eval_every = 500;
  std::int64_t checkpoint_every = 500;
  double lr = 1e-3, min_lr_ratio = 0.05, weight_decay = 0.01, clip_grad_norm = 1.0;

  static SegmentTrainConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// Writes OUT as a SeTokim folder with the decoder beside it (the SeTokim's files copied), and
// OUT/checkpoint while it runs; resume_dir continues from a checkpoint.
TrainSummary train_segment(const SegmentTrainConfig& config, const std::string& resume_dir, ProgressWriter& progress);

}  // namespace setok::train
