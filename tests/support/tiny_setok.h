#pragma once
// The toy world's tiny SeTok for tests: untrained, or trained two steps (its training config, and
// fine-tunes of it).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "core/tokenizer/setok_model.h"
#include "core/train/progress.h"
#include "core/train/setok_trainer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/toy_scenes.h"

namespace setok::test {

// The tiny model, untrained (seed 5), with a learnable σ, in eval mode.
inline tokenizer::SetokModel tiny_model() {
  at::manual_seed(5);
  tokenizer::SetokConfig c = ToyScenes::tiny_model();
  c.learnable_bandwidth = true;
  tokenizer::SetokModel m(c);
  m->eval();
  return m;
}

// The toy world's tiny model, trained `steps` steps into `out` (8 images a batch, a log line every
// step, no checkpoints, a one-layer text encoder).
inline train::SetokTrainConfig tiny_config(const std::string& out, std::int64_t steps) {
  train::SetokTrainConfig c;
  c.model = ToyScenes::tiny_model();
  c.out = out;
  c.batch_size = 8;
  c.steps = steps;
  c.warmup_steps = 2;
  c.lr = 3e-3;
  c.log_every = 1;
  c.checkpoint_every = 0;
  c.text.dim(32).layers(1).heads(2);
  return c;
}

// A model trained two steps on the toy world, and fine-tunes of it.
struct FineTuneFixture {
  TempDir d;
  ToyScenes data{32};
  train::ProgressWriter quiet{train::ProgressMode::kNone};
  train::TrainSummary first = train::train_setok(tiny_config(d / "first", 2), "", quiet, &data);

  train::SetokTrainConfig tuned(const std::string& name, std::int64_t steps) const {
    train::SetokTrainConfig c = tiny_config(d / name, steps);
    c.finetune.init = first.model_dir;
    return c;
  }
  // A text-side stage: every module of the tokenizer frozen and only the concept loss weighed.
  train::SetokTrainConfig text_stage(const std::string& name, std::int64_t steps) const {
    train::SetokTrainConfig c = tuned(name, steps);
    c.finetune.freeze = {"vision_model", "cluster", "merger", "detokenizer"};
    c.objective.rec_weight = 0.0;
    c.extras.decoder_mask_weight = 0.0;
    c.extras.grouping_weight = 0.0;
    c.objective.concept_weight = 1.0;
    return c;
  }
};

}  // namespace setok::test
