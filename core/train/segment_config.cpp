#include "core/train/config_keys.h"
#include "core/train/segment_trainer.h"

namespace setok::train {

nlohmann::json SegmentTrainConfig::to_json() const {
  return {{"setokim", setokim},
          {"data", data},
          {"split", split},
          {"val_split", val_split},
          {"max_images", max_images},
          {"val_images", val_images},
          {"language", language},
          {"vary_wording", vary_wording},
          {"decoder", decoder},
          {"language_rate", language_rate},
          {"box_rate", box_rate},
          {"token_start_rate", token_start_rate},
          {"max_click_rounds", max_click_rounds},
          {"click_token_rate", click_token_rate},
          {"zoom_crops", zoom_crops},
          {"out", out},
          {"seed", seed},
          {"batch_size", batch_size},
          {"steps", steps},
          {"warmup_steps", warmup_steps},
          {"log_every", log_every},
          {"eval_every", eval_every},
          {"checkpoint_every", checkpoint_every},
          {"lr", lr},
          {"min_lr_ratio", min_lr_ratio},
          {"weight_decay", weight_decay},
          {"clip_grad_norm", clip_grad_norm}};
}

SegmentTrainConfig SegmentTrainConfig::from_json(const nlohmann::json& j) {
  SegmentTrainConfig c;
  if (!j.is_object()) throw Error("training config: not a JSON object");
  reject_unknown_keys(j, c.to_json());
  get_to(j, "setokim", c.setokim);
  get_to(j, "data", c.data);
  get_to(j, "split", c.split);
  get_to(j, "val_split", c.val_split);
  get_to(j, "max_images", c.max_images);
  get_to(j, "val_images", c.val_images);
  get_to(j, "language", c.language);
  get_to(j, "vary_wording", c.vary_wording);
  get_to(j, "decoder", c.decoder);
  get_to(j, "language_rate", c.language_rate);
  get_to(j, "box_rate", c.box_rate);
  get_to(j, "token_start_rate", c.token_start_rate);
  get_to(j, "max_click_rounds", c.max_click_rounds);
  get_to(j, "click_token_rate", c.click_token_rate);
  get_to(j, "zoom_crops", c.zoom_crops);
  get_to(j, "out", c.out);
  get_to(j, "seed", c.seed);
  get_to(j, "batch_size", c.batch_size);
  get_to(j, "steps", c.steps);
  get_to(j, "warmup_steps", c.warmup_steps);
  get_to(j, "log_every", c.log_every);
  get_to(j, "eval_every", c.eval_every);
  get_to(j, "checkpoint_every", c.checkpoint_every);
  get_to(j, "lr", c.lr);
  get_to(j, "min_lr_ratio", c.min_lr_ratio);
  get_to(j, "weight_decay", c.weight_decay);
  get_to(j, "clip_grad_norm", c.clip_grad_norm);
  if (c.data.empty()) throw Error("training config: \"data\" (a scenes folder) is required");
  if (c.batch_size < 1 || c.steps < 1) throw Error("training config: \"batch_size\" and \"steps\" must be positive");
  if (c.language_rate < 0 || c.box_rate < 0 || c.token_start_rate < 0 ||
      c.language_rate + c.box_rate + c.token_start_rate > 1)
    throw Error("training config: the prompt rates must be non-negative and sum to at most 1");
  if (!(c.click_token_rate >= 0 && c.click_token_rate <= 1))
    throw Error("training config: \"click_token_rate\" is 0..1");
  if (c.max_click_rounds < 0 || c.max_click_rounds > 20) throw Error("training config: \"max_click_rounds\" is 0..20");
  if (c.zoom_crops < 0 || c.zoom_crops > 16) throw Error("training config: \"zoom_crops\" is 0..16");
  heads::MaskDecoderConfig::from_json(c.decoder);  // validates early
  return c;
}

}  // namespace setok::train
