#pragma once
// SeTokim training (§2.2, Appendix D): `setok train mllm --stage 1|2 --config FILE`.
//   Stage I: captioning on image–caption pairs (COCO captions JSON) mixed with text-only language
//            modelling (the conversations' text) at `language_ratio` (the paper's 7:3 by default).
//   Stage II: instruction tuning on LLaVA-format conversations, loss on the answers only.
// Same checkpoints, resume, progress lines and NaN handling as SeTok training (setok_trainer.h).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/mllm/chat_template.h"
#include "core/train/progress.h"
#include "core/train/setok_trainer.h"

namespace setok::train {

struct MllmTrainConfig {
  int stage = 1;
  std::string init;  // a SeTokim folder to start from (stage II from stage I's model)
  // The SeTok folder whose tokens the model reads. Without init: the new model's; with init (not on
  // resume): replaces the SeTok inside the init model, keeping its projector and language model.
  std::string setok_model;
  nlohmann::json text_config = nlohmann::json::object();  // without init: HF LlamaConfig (vocab from the tokenizer)
  std::string tokenizer;  // tokenizer.model; empty (and no init): trained on the training text
  int tokenizer_vocab = 1000;
  std::string connector = "setok";  // setok | patch_mlp | fixed_k
  int fixed_k = 8;
  bool token_geometry = false;    // each visual token also carries its region's descriptor (mllm/setokim.h)
  int token_appearance = 0;       // N × N appearance map per token (needs token_geometry; mllm/setokim.h)
  double geometry_lr_scale = 10;  // the token-geometry and -appearance layers' learning rate, as a multiple of lr
  std::string captions;           // stage I: COCO captions JSON (file_name relative to its dataset folder)
  std::string conversations;      // stage II: LLaVA JSON; stage I: its text is the language-only data
  double language_ratio = 0.7;
  // Stage II: one example per question–answer pair of each conversation, the image leading its
  // question (instead of the whole multi-turn conversation with the image in the first turn).
  bool split_turns = false;
  // Stage II: cut this text from the end of questions (drop_suffix_rate of the examples, drawn per
  // step), so a model trained on prompts that all end the same way also answers without it.
  std::string drop_suffix;
  double drop_suffix_rate = 0;
  // Stage II: paraphrase questions (question_rewrite_rate of the examples, drawn per step): each
  // rule's `from` is replaced by one of its `to`, so the model learns the questions' meaning rather
  // than one wording. JSON: [{"from": "in the picture", "to": ["in the picture", "here"]}, …].
  std::vector<mllm::TextRewrite> question_rewrites;
  double question_rewrite_rate = 0;
  // Stage II: referring requests mixed in (paper §2.2, LISA): a RefCOCO-format refs file (file_name
  // relative to its dataset folder); referring_rate of the examples ask one of its sentences in one
  // of mllm::referring_wordings() and the answer is the segmentation token [SEG]. A model without
  // [SEG] gets it (its vocabulary grows by one row, the mean of the others).
  std::string referring;
  double referring_rate = 0;
  // Generation (§2.2, L_vis): text-to-image requests mixed in at generation_rate (of the examples
  // that are neither text-only nor referring), from a prompts file (prompts_SPLIT.jsonl, as `setok
  // data scenes` writes it). The answer is the prompt's image as visual tokens, which the diffusion
  // head learns to write (diffusion_head.json/.safetensors beside the model; core/train/
  // generation_task.h). generation_null_rate of them are asked with the null prompt [Null] (the
  // learned null condition of guidance). A model without [Null] gets it (its vocabulary grows).
  std::string generation;
  double generation_rate = 0;
  double generation_null_rate = 0.1;
  // Editing (core/mllm/edit_request.h): InstructPix2Pix-format triplets (edits_SPLIT.jsonl, as `setok
  // data scenes` writes it) mixed in at edit_rate (of the examples that are neither text-only,
  // referring nor generation). The answer says, per input token, keep / change / remove (decided by
  // the pixels the edit changes: edit_change_share of a token's region; core/train/edit_task.h), then
  // writes the edited image's new tokens with the diffusion head. generation_null_rate of them are
  // asked with the null instruction.
  std::string edits;
  double edit_rate = 0;
  double edit_change_share = 0.2;
  // The new head's sizes (heads::DiffusionHeadConfig keys width, depth, frequencies, train_steps,
  // sample_steps; token and condition widths come from the model). Ignored when the init or the
  // checkpoint has a head.
  nlohmann::json diffusion_head = nlohmann::json::object();
  double diffusion_weight = 1.0, stop_weight = 1.0;  // L_vis and the stop loss beside the text loss
  std::int64_t diffusion_repeats = 4;                // noise draws per target token (MAR: 4)
  double diffusion_lr_scale = 10;                    // the head's learning rate, as a multiple of lr
  std::vector<std::string> freeze{"setok"};          // any of: setok, multi_modal_projector, language_model
  // LoRA on the language model ({"rank", "alpha", "targets"}; empty: off): its base weights are
  // frozen and only the adapters train; the final model has them merged (a plain SeTokim).
  nlohmann::json lora = nlohmann::json::object();
  std::string out = "runs/setokim";
  std::string device = "cpu";
  // bf16 autocast for the language model's forward on CUDA (f32 master weights, loss in f32), as
  // SeTok training does; ignored on the CPU.
  bool mixed_precision = true;
  // The same on the CPU, for the language model's forward (core/train/autocast.h).
  bool cpu_bf16 = false;
  // Gradient checkpointing of the transformer blocks that train (nn/activation_checkpoint.h): less
  // memory for one more forward pass.
  bool checkpointing = false;
  std::uint64_t seed = 0;
  std::int64_t batch_size = 16, steps = 1000, warmup_steps = 50, checkpoint_every = 200, log_every = 10, stop_at = 0;
  std::int64_t max_length = 256;  // tokens per sample, visual tokens included (longer ones are cut)
  double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.0, clip_grad_norm = 1.0;

  static MllmTrainConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

TrainSummary train_mllm(const MllmTrainConfig& config, const std::string& resume_dir, ProgressWriter& progress);

}  // namespace setok::train
