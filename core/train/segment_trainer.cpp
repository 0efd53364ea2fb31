#include "core/train/segment_trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <filesystem>

#include "core/dist/gradient_sync.h"
#include "core/dist/world_group.h"
#include "core/heads/mask_loss.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/loaded_setokim.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/schedule.h"
#include "core/train/segment_prompts.h"

namespace setok::train {

namespace fs = std::filesystem;

namespace {

using ObjectList = std::vector<std::pair<const SegmentImage*, const SegmentObject*>>;

ObjectList list_objects(const std::vector<SegmentImage>& images) {
  ObjectList out;
  for (const auto& im : images)
    for (const auto& o : im.objects) out.emplace_back(&im, &o);
  if (out.empty()) throw Error("segment training: the data holds no objects");
  return out;
}

struct StepLoss {
  at::Tensor total;
  double full = 0, low = 0, iou = 0, relevance = 0, mean_iou = 0;
};

at::Tensor relevance_loss(const SegmentBatch& b, const at::Tensor& logits) {
  std::vector<at::Tensor> losses;
  for (std::size_t i = 0; i < b.items.size(); ++i) {
    const SegmentItem& it = b.items[i];
    if (!it.prompt.request.defined() || !logits.defined()) continue;
    const std::int64_t c = it.prompt.visual.size(0);
    at::Tensor target = token_inside_fraction(*it.image, *it.object, c).gt(0.5).to(at::kFloat);
    losses.push_back(
        at::binary_cross_entropy_with_logits(logits[static_cast<std::int64_t>(i)].narrow(0, 0, c), target));
  }
  return losses.empty() ? at::zeros({}) : at::stack(losses).mean();
}

StepLoss step_loss(heads::MaskDecoderImpl& decoder, const SegmentBatch& b) {
  std::vector<heads::PromptSample> ps;
  for (const auto& it : b.items) ps.push_back(it.prompt);
  heads::MaskPrediction p = decoder.forward(b.features, heads::collate_prompts(ps, decoder.config()));
  const std::int64_t l = p.low_res.size(-1);
  at::Tensor target_low = at::adaptive_avg_pool2d(b.target, {l, l});
  at::Tensor low = heads::bce_dice(p.low_res, target_low);  // [B, M]
  at::Tensor idx = shown_mask(b, p.iou, decoder.config().multimask);
  // An ambiguous click is scored by its best alternative, as SAM does.
  at::Tensor best_alt = low.narrow(1, 1, decoder.config().multimask).argmin(1) + 1;
  idx = at::where(idx.gt(0), best_alt, idx);
  at::Tensor chosen_low = low.gather(1, idx.view({-1, 1})).squeeze(1);
  at::Tensor lr = p.low_res.gather(1, idx.view({-1, 1, 1, 1}).expand({-1, 1, l, l}));
  at::Tensor full = decoder.refine(lr, b.pixels01, p.features);
  at::Tensor full_loss = heads::bce_dice(full, b.target).squeeze(1);
  at::Tensor actual = heads::mask_iou(p.low_res, target_low.gt(0.5));
  at::Tensor iou_loss = at::mse_loss(p.iou, actual);
  at::Tensor rel = relevance_loss(b, p.relevance);
  StepLoss s;
  s.total = full_loss.mean() + chosen_low.mean() + iou_loss + 0.5 * rel;
  s.full = full_loss.mean().item<double>();
  s.low = chosen_low.mean().item<double>();
  s.iou = iou_loss.item<double>();
  s.relevance = rel.item<double>();
  s.mean_iou = heads::mask_iou(full.detach(), b.target).mean().item<double>();
  return s;
}

// Mean IoU on held-out objects: each object's first sentence alone (a decoder that reads language),
// and one click at its interior point (from the token under it when the decoder learns that, as the
// segmenter asks it).
nlohmann::json validate(heads::MaskDecoderImpl& decoder, const ObjectList& val, std::uint64_t seed, bool click_token) {
  if (val.empty()) return nlohmann::json::object();
  at::NoGradGuard g;
  decoder.eval();
  std::mt19937_64 rng(seed);
  nlohmann::json out;
  for (const char* mode : {"language", "click"}) {
    if (std::string(mode) == "language" && decoder.config().language_dim == 0) continue;  // clicks only
    PromptRates rates;
    rates.language = std::string(mode) == "language" ? 1.0 : 0.0;
    rates.box = rates.token_start = 0;
    rates.max_click_rounds = 0;
    rates.click_token = click_token ? 1.0 : 0.0;
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < val.size(); i += 32) {
      ObjectList part(val.begin() + i, val.begin() + std::min(val.size(), i + 32));
      SegmentBatch b = draw_batch(part, static_cast<std::int64_t>(part.size()), rates, rng);
      sum += step_loss(decoder, b).mean_iou * b.items.size();
      n += b.items.size();
    }
    out[std::string("mIoU_") + mode] = sum / static_cast<double>(n);
  }
  decoder.train();
  return out;
}

void copy_setokim(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "domain.json"}) {
    const fs::path src = fs::path(from) / f;
    if (fs::exists(src) && fs::canonical(src) != fs::weakly_canonical(fs::path(to) / f))
      fs::copy_file(src, fs::path(to) / f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

TrainSummary train_segment(const SegmentTrainConfig& c, const std::string& resume_dir, ProgressWriter& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string src = c.setokim.empty() ? tokenizer::default_setokim_model() : c.setokim;
  if (src.empty()) throw Error("segment training: no SeTokim folder (\"setokim\")");
  fs::create_directories(c.out);
  auto loaded = mllm::LoadedSetokim::load(src);
  mllm::SetokimImpl& model = *loaded->model();
  heads::MaskDecoderConfig dc = heads::MaskDecoderConfig::from_json(c.decoder);
  dc.feature_dim = model.setok->config().vision.hidden_size;
  dc.grid = model.setok->config().vision.image_size / model.setok->config().vision.patch_size;
  dc.image_size = model.setok->config().vision.image_size;
  dc.language_dim = c.language ? model.config().text.hidden_size : 0;
  torch::manual_seed(c.seed);
  heads::MaskDecoder decoder(dc);
  std::int64_t start = 0;
  if (!resume_dir.empty()) {
    nn::load_state_dict(*decoder,
                        io::load_safetensors((fs::path(resume_dir) / heads::kMaskDecoderWeightsFile).string()));
    start = io::read_json_file((fs::path(resume_dir) / "state.json").string()).at("step").get<std::int64_t>();
  }
  auto cache = [&](const std::string& split, std::int64_t max_images, bool training) {
    SegmentDataOptions o{c.data, split, max_images, c.language, 16, c.vary_wording && training};
    o.zoom_crops = training ? c.zoom_crops : 0;  // validation: whole images, as before
    o.seed = c.seed;
    return build_segment_data(model, loaded->tokenizer(), o, [&](std::size_t done, std::size_t total) {
      progress.emit({{"event", "prepare"}, {"split", split}, {"done", done}, {"total", total}});
    });
  };
  const std::vector<SegmentImage> train_set = cache(c.split, c.max_images, true);
  std::vector<SegmentImage> val_set;
  if (fs::exists(fs::path(c.data) / "annotations" / ("instances_" + c.val_split + ".json")))
    val_set = cache(c.val_split, c.val_images, false);
  const ObjectList objects = list_objects(train_set);
  const ObjectList val = val_set.empty() ? ObjectList{} : list_objects(val_set);
  torch::optim::AdamW opt(decoder->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  // Several ranks: each draws its own objects, from (seed, rank, the step it starts at).
  const auto rank = static_cast<std::uint64_t>(dist::world_rank());
  std::mt19937_64 rng(c.seed * 7919 + static_cast<std::uint64_t>(start) + rank * 0x9E3779B97F4A7C15ull);
  const std::unique_ptr<dist::GradientSync> sync = dist::data_parallel(opt);
  PromptRates rates{c.language ? c.language_rate : 0.0, c.box_rate, c.token_start_rate, c.max_click_rounds,
                    c.click_token_rate};
  decoder->train();
  for (std::int64_t step = start + 1; step <= c.steps; ++step) {
    const double lr = warmup_cosine_lr(step, c.lr, c.warmup_steps, c.steps, c.min_lr_ratio);
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    SegmentBatch b = draw_batch(objects, c.batch_size, rates, rng);
    click_rounds(*decoder, b);
    StepLoss s = step_loss(*decoder, b);
    const dist::StepAgreement agreed = dist::agree_on_step(step, s.total.item<double>(), take_pause_request());
    stop_if_not_finite(agreed.loss, "loss", step, c.out + "/checkpoint", progress);
    opt.zero_grad();
    if (sync) sync->begin();
    s.total.backward();
    if (sync) sync->finish();
    const double gn = torch::nn::utils::clip_grad_norm_(decoder->parameters(), c.clip_grad_norm);
    stop_if_not_finite(gn, "gradient", step, c.out + "/checkpoint", progress);
    opt.step();
    if (step % c.log_every == 0 || step == c.steps)
      progress.emit({{"event", "step"},
                     {"step", step},
                     {"steps", c.steps},
                     {"loss", agreed.loss},  // the mean over the ranks; the parts below are rank 0's
                     {"loss_full", s.full},
                     {"loss_low", s.low},
                     {"loss_iou", s.iou},
                     {"loss_relevance", s.relevance},
                     {"mIoU", s.mean_iou},
                     {"lr", lr}});
    if ((step % c.eval_every == 0 || step == c.steps) && !val.empty() && dist::is_writer()) {
      nlohmann::json v = validate(*decoder, val, c.seed + 1, c.click_token_rate > 0);
      v["event"] = "eval";
      v["step"] = step;
      progress.emit(v);
    }
    const bool pause = agreed.pause;
    if ((step % c.checkpoint_every == 0 || pause) && dist::is_writer()) {
      const std::string ck = c.out + "/checkpoint";
      save_mask_decoder(ck, decoder);
      io::write_file_atomic(ck + "/state.json", nlohmann::json{{"step", step}}.dump() + "\n");
      progress.emit({{"event", "checkpoint"}, {"step", step}, {"dir", ck}});
    }
    if (pause) return {step, 0, 0, 0, c.out};
  }
  if (!dist::is_writer()) return {c.steps, 0, 0, 0, c.out};
  copy_setokim(src, c.out);
  decoder->set_trained(true);
  save_mask_decoder(c.out, decoder);
  TrainSummary sum;
  sum.steps_done = c.steps;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.model_dir = c.out;
  progress.emit({{"event", "done"}, {"model", c.out}, {"seconds", sum.seconds}});
  return sum;
}

}  // namespace setok::train
