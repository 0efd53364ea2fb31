#pragma once
// SeTok training (§2.1 "SeTok Training", Eq. 3): α·L_rec + β·L_concept with AdamW, warm-up +
// cosine, clipping, atomic checkpoints, exact resume and NaN/Inf detection.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/setok_data.h"
#include "core/tokenizer/setok_config.h"
#include "core/train/progress.h"
#include "core/train/text_encoder.h"

namespace setok::train {

// The paper's objective (Eq. 3): α·L_rec + β·L_concept, L_rec of L1 and L2 (and, not in the paper,
// a perceptual term), the concept loss's learnt temperature and its text prompts.
struct SetokObjective {
  double rec_weight = 1.0, concept_weight = 1.0;                     // α, β of Eq. 3
  double l1_weight = 1.0, l2_weight = 1.0, perceptual_weight = 0.0;  // inside L_rec
  double temperature = 0.07;                                         // τ's initial value (learnt)
  std::vector<std::string> templates = {"a photo of a {}", "a {} in the scene", "an image of a {}", "the {}"};
};

// Not in the paper: terms and switches the project added while training its small models (each
// off at 0 / false; docs/design/setok-training.md says what each did).
struct SetokExtras {
  double grouping_weight = 0.0;  // supervised patch grouping
  double semantic_weight = 0.0;  // supervised patch classes
  // The hidden width of a token head (TokenHead, token_head.h) that tokens pass through before the
  // concept loss; 0 = none, or the init model's head when it has one. Saved with the model and used
  // by its zero-shot concept scoring.
  std::int64_t concept_head = 0;
  // With a broadcast detokenizer, cross-entropy between its mask logits at each place and the
  // clustering's hard masks, so that it learns from the tokens alone where each token lies (needs
  // detokenizer.broadcast and the encoder's grid).
  double decoder_mask_weight = 0.0;
  // At every step, cluster with the kernel bandwidth (from 0.05 to 5) whose token counts on the
  // batch come closest to objects + 1, so the merger and the concept loss see whole objects in
  // training as they do after calibration.
  bool object_bandwidth = false;
};

// Fine-tuning from a trained model: where it starts, what is drawn afresh, grows or stays frozen.
struct SetokFineTune {
  // A trained SeTok folder (config.json with its concept section, model.safetensors,
  // text_encoder.safetensors) to start from: its architecture, weights, text encoder and
  // clustering replace the config's `model`; the step count and the optimiser start afresh.
  std::string init;
  // Modules ("merger", "detokenizer") drawn afresh from the config's `model` section
  // (architecture and weights) instead of taken from the init model, e.g. a decoder stuck in a bad
  // optimum, or one with other norm groups.
  std::vector<std::string> reinit;
  // Modules ("detokenizer") given more layers (its `layers` and `decoder_res_blocks` from the
  // config's `model` section, nothing else may differ): the init model's weights load as they are,
  // and each added block starts as the identity (its residual branches' last layers zero), so the
  // grown model draws what the init model drew until training moves it.
  std::vector<std::string> grow;
  // SeTok modules left as they are: any of "vision_model", "cluster", "merger", "detokenizer"
  // (fine-tuning the merger and decoder on a fixed grouping).
  std::vector<std::string> freeze;
  bool freeze_text = false;  // the paper freezes its (pretrained) text encoder
  // Turns on the merger's absolute position table (merger.absolute_position) in an init model
  // trained without it: its layer is drawn afresh (seeded), the rest of the weights are that model's.
  bool merger_absolute_position = false;
  // The vision encoder's learning rate as a multiple of lr (not in the paper): below 1, a fine-tune
  // lets the encoder learn while its features, which the clustering reads, move slowly.
  double encoder_lr_scale = 1.0;
};

// A training config. Its JSON keys are flat (the sub-structs' fields are top-level keys), as the
// config files and `--set KEY=VALUE` have always written them.
struct SetokTrainConfig {
  tokenizer::SetokConfig model = tokenizer::SetokConfig::small();
  TextEncoderOptions text = TextEncoderOptions();
  SetokObjective objective;
  SetokExtras extras;
  SetokFineTune finetune;
  // The run: data, output, device, schedule and checkpoints.
  std::string train_data, val_data;  // dataset folders (see open_coco_dataset)
  std::string out = "runs/setok";
  std::string device = "cpu";  // "cpu" or "cuda[:N]"
  std::uint64_t seed = 0;
  int batch_size = 32;
  std::int64_t steps = 2000, warmup_steps = 100, checkpoint_every = 500, log_every = 10;
  std::int64_t stop_at = 0;  // > 0: checkpoint and stop after this step (pause); --resume continues
  double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.05, clip_grad_norm = 1.0;
  // After training, pick the clustering σ and β on val_data (see core/eval/setok_calibrate.h).
  bool calibrate = true;
  bool mixed_precision = true;  // bf16 autocast on CUDA; f32 master weights
  bool cpu_bf16 = false;        // bf16 autocast on the CPU (core/train/autocast.h)
  // Gradient checkpointing of the transformer blocks that train (nn/activation_checkpoint.h): less
  // memory for one more forward pass.
  bool checkpointing = false;

  static SetokTrainConfig from_json(const nlohmann::json& j);  // throws setok::Error
  nlohmann::json to_json() const;
};

struct TrainSummary {
  std::int64_t steps_done = 0;
  double seconds = 0, images_per_s = 0, data_wait_s = 0;
  std::string model_dir;  // the final model (config.json, model.safetensors, text_encoder.safetensors)
};

// Asks a running train_setok to checkpoint and stop after its current step (async-signal-safe:
// the CLI calls it from its SIGUSR1 handler, the studio's Pause sends that signal).
void request_pause();
// True once per request_pause(): what other trainers poll after each step.
bool take_pause_request();

// Trains from scratch, or from `resume_dir` (a checkpoint folder this function wrote). `data`
// replaces cfg.train_data when given (tests). Emits progress events; throws setok::Error on bad
// input or a non-finite loss (the last good checkpoint stays on disk).
TrainSummary train_setok(const SetokTrainConfig& cfg, const std::string& resume_dir, ProgressWriter& progress,
                         const SetokDataset* data = nullptr);

}  // namespace setok::train
