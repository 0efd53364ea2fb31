#include "core/train/setok_trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "core/dist/gradient_sync.h"
#include "core/dist/world_group.h"
#include "core/eval/setok_calibrate.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/autocast.h"
#include "core/train/batch_loader.h"
#include "core/train/concept_loss.h"
#include "core/train/config_keys.h"
#include "core/train/grouping_loss.h"
#include "core/train/schedule.h"
#include "core/train/token_head.h"
#include "core/train/word_vocab.h"

namespace fs = std::filesystem;

namespace setok::train {
namespace {

std::atomic<bool> g_pause_requested{false};

// Candidate bandwidths for object_bandwidth: calibration's grid, widened at both ends (a fresh
// encoder's features can need either).
const std::vector<double> kObjectBandwidths = {0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0};

// object_bandwidth: the bandwidth of kObjectBandwidths whose hard clustering of these features
// (detached) gives per-image token counts closest to min(objects + 1, cap), by mean absolute
// difference, the smaller σ on ties. β and the rest stay `params`'.
float object_bandwidth(tokenizer::TokenClusterImpl& cluster, const tokenizer::ClusterParams& params,
                       const at::Tensor& features, const std::vector<SetokSample>& samples) {
  at::NoGradGuard no_grad;
  const at::Tensor x = features.detach().to(at::kFloat);
  const tokenizer::ClusterParams& saved = params;
  tokenizer::ClusterParams trial = params;
  std::vector<double> target;
  for (const SetokSample& s : samples)
    target.push_back(static_cast<double>(std::min<std::size_t>(s.labels.size() + 1, saved.max_tokens)));
  float best = saved.bandwidth;
  double best_err = std::numeric_limits<double>::infinity();
  for (double bw : kObjectBandwidths) {
    trial.bandwidth = static_cast<float>(bw);
    const at::Tensor n = cluster.forward(x, trial).num_tokens.to(at::kDouble).cpu().contiguous();
    double err = 0;
    const double* count = n.data_ptr<double>();
    for (std::size_t b = 0; b < target.size(); ++b) err += std::abs(count[b] - target[b]);
    if (err < best_err) {
      best_err = err;
      best = static_cast<float>(bw);
    }
  }
  return best;
}

std::string fill_template(const std::string& t, const std::string& label) {
  std::string s = t;
  auto p = s.find("{}");
  return p == std::string::npos ? s + " " + label : s.replace(p, 2, label);
}

// Everything a checkpoint holds besides the weights.
struct TrainerState {
  std::int64_t step = 0;
  std::vector<std::string> labels;
  nlohmann::json vocab;
};

// model_config: what the folder's config.json says of the model (the model's own, with this run's
// last object bandwidth and, for the final model, "trained").
void save_checkpoint_dir(const fs::path& dir, tokenizer::SetokModel& model, const tokenizer::SetokConfig& model_config,
                         TextEncoder& text, at::Tensor logit_scale, torch::nn::Linear* semantic, TokenHead* head,
                         torch::optim::Optimizer* opt, const SetokTrainConfig& cfg, const TrainerState& st) {
  // Build the new checkpoint beside the old one, then swap folders: a crash leaves one whole.
  const fs::path tmp = io::begin_folder_swap(dir.string());
  nlohmann::json config = model_config.to_json();
  config["concept"] = {{"labels", st.labels},
                       {"vocab", st.vocab},
                       {"templates", cfg.objective.templates},
                       {"text_encoder",
                        {{"dim", cfg.text.dim()},
                         {"layers", cfg.text.layers()},
                         {"heads", cfg.text.heads()},
                         {"max_len", cfg.text.max_len()},
                         {"out_dim", cfg.text.out_dim()},
                         {"vocab_size", cfg.text.vocab_size()}}}};
  if (head) config["concept"]["token_head"] = {{"hidden", (*head)->hidden()}};
  io::TensorMap weights = nn::state_dict(*model);
  io::TensorMap text_w = nn::state_dict(*text);
  text_w["logit_scale"] = logit_scale.detach();
  if (semantic)
    for (auto& kv : (*semantic)->named_parameters()) text_w[kSemanticHeadPrefix + kv.key()] = kv.value().detach();
  if (head)
    for (auto& kv : (*head)->named_parameters()) text_w[kTokenHeadPrefix + kv.key()] = kv.value().detach();
  io::save_checkpoint(tmp.string(), config, weights);
  io::save_safetensors((tmp / "text_encoder.safetensors").string(), text_w);
  if (opt) {
    torch::serialize::OutputArchive ar;
    opt->save(ar);
    ar.save_to((tmp / "optimizer.pt").string());
  }
  nlohmann::json state = {{"step", st.step}, {"train_config", cfg.to_json()}};
  io::write_file_atomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
  io::commit_folder_swap(dir.string());
}

}  // namespace

void request_pause() { g_pause_requested.store(true); }
bool take_pause_request() { return g_pause_requested.exchange(false); }

SetokTrainConfig SetokTrainConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("training config is not a JSON object");
  SetokTrainConfig c;
  reject_unknown_keys(j, c.to_json());
  try {
    if (j.contains("model")) c.model = tokenizer::SetokConfig::from_json(j["model"]);
    get_to(j, "train_data", c.train_data);
    get_to(j, "val_data", c.val_data);
    get_to(j, "out", c.out);
    get_to(j, "init", c.finetune.init);
    get_to(j, "device", c.device);
    get_to(j, "seed", c.seed);
    get_to(j, "batch_size", c.batch_size);
    get_to(j, "steps", c.steps);
    get_to(j, "warmup_steps", c.warmup_steps);
    get_to(j, "checkpoint_every", c.checkpoint_every);
    get_to(j, "log_every", c.log_every);
    get_to(j, "stop_at", c.stop_at);
    get_to(j, "lr", c.lr);
    get_to(j, "min_lr_ratio", c.min_lr_ratio);
    get_to(j, "weight_decay", c.weight_decay);
    get_to(j, "clip_grad_norm", c.clip_grad_norm);
    get_to(j, "rec_weight", c.objective.rec_weight);
    get_to(j, "concept_weight", c.objective.concept_weight);
    get_to(j, "grouping_weight", c.extras.grouping_weight);
    get_to(j, "semantic_weight", c.extras.semantic_weight);
    get_to(j, "concept_head", c.extras.concept_head);
    get_to(j, "decoder_mask_weight", c.extras.decoder_mask_weight);
    get_to(j, "encoder_lr_scale", c.finetune.encoder_lr_scale);
    get_to(j, "l1_weight", c.objective.l1_weight);
    get_to(j, "l2_weight", c.objective.l2_weight);
    get_to(j, "perceptual_weight", c.objective.perceptual_weight);
    get_to(j, "temperature", c.objective.temperature);
    get_to(j, "templates", c.objective.templates);
    get_to(j, "merger_absolute_position", c.finetune.merger_absolute_position);
    get_to(j, "reinit", c.finetune.reinit);
    get_to(j, "grow", c.finetune.grow);
    get_to(j, "freeze_text", c.finetune.freeze_text);
    get_to(j, "freeze", c.finetune.freeze);
    get_to(j, "calibrate", c.calibrate);
    get_to(j, "object_bandwidth", c.extras.object_bandwidth);
    get_to(j, "mixed_precision", c.mixed_precision);
    get_to(j, "cpu_bf16", c.cpu_bf16);
    get_to(j, "checkpointing", c.checkpointing);
    if (j.contains("text_encoder")) {
      const auto& t = j["text_encoder"];
      c.text.dim(t.value("dim", c.text.dim()))
          .layers(t.value("layers", c.text.layers()))
          .heads(t.value("heads", c.text.heads()))
          .max_len(t.value("max_len", c.text.max_len()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("training config: ") + e.what());
  }
  if (c.batch_size < 1) throw Error("training config: batch_size must be at least 1");
  if (c.steps < 1) throw Error("training config: steps must be at least 1");
  if (!(c.lr > 0)) throw Error("training config: lr must be positive");
  if (c.objective.templates.empty()) throw Error("training config: templates must not be empty");
  if (c.extras.semantic_weight < 0) throw Error("training config: semantic_weight must not be negative");
  if (c.extras.concept_head < 0) throw Error("training config: concept_head must not be negative (0 = no token head)");
  if (c.extras.decoder_mask_weight < 0) throw Error("training config: decoder_mask_weight must not be negative");
  if (!(c.finetune.encoder_lr_scale > 0)) throw Error("training config: encoder_lr_scale must be positive");
  for (const auto& n : c.finetune.reinit)
    if (n != "merger" && n != "detokenizer")
      throw Error("training config: reinit: unknown module '" + n + "' (merger, detokenizer)");
  for (const auto& n : c.finetune.grow) {
    if (n != "detokenizer") throw Error("training config: grow: unknown module '" + n + "' (detokenizer)");
    if (std::find(c.finetune.reinit.begin(), c.finetune.reinit.end(), n) != c.finetune.reinit.end())
      throw Error("training config: " + n + " is in both reinit and grow");
  }
  for (const auto& n : c.finetune.freeze)
    if (n != "vision_model" && n != "cluster" && n != "merger" && n != "detokenizer")
      throw Error("training config: freeze: unknown module '" + n + "' (vision_model, cluster, merger, detokenizer)");
  return c;
}

nlohmann::json SetokTrainConfig::to_json() const {
  return {{"model", model.to_json()},
          {"train_data", train_data},
          {"val_data", val_data},
          {"out", out},
          {"init", finetune.init},
          {"device", device},
          {"seed", seed},
          {"batch_size", batch_size},
          {"steps", steps},
          {"warmup_steps", warmup_steps},
          {"checkpoint_every", checkpoint_every},
          {"log_every", log_every},
          {"stop_at", stop_at},
          {"lr", lr},
          {"min_lr_ratio", min_lr_ratio},
          {"weight_decay", weight_decay},
          {"clip_grad_norm", clip_grad_norm},
          {"rec_weight", objective.rec_weight},
          {"concept_weight", objective.concept_weight},
          {"grouping_weight", extras.grouping_weight},
          {"semantic_weight", extras.semantic_weight},
          {"concept_head", extras.concept_head},
          {"decoder_mask_weight", extras.decoder_mask_weight},
          {"encoder_lr_scale", finetune.encoder_lr_scale},
          {"object_bandwidth", extras.object_bandwidth},
          {"l1_weight", objective.l1_weight},
          {"l2_weight", objective.l2_weight},
          {"perceptual_weight", objective.perceptual_weight},
          {"temperature", objective.temperature},
          {"templates", objective.templates},
          {"text_encoder",
           {{"dim", text.dim()}, {"layers", text.layers()}, {"heads", text.heads()}, {"max_len", text.max_len()}}},
          {"merger_absolute_position", finetune.merger_absolute_position},
          {"reinit", finetune.reinit},
          {"grow", finetune.grow},
          {"freeze_text", finetune.freeze_text},
          {"calibrate", calibrate},
          {"freeze", finetune.freeze},
          {"mixed_precision", mixed_precision},
          {"cpu_bf16", cpu_bf16},
          {"checkpointing", checkpointing}};
}

namespace {

// The init model's detokenizer may only grow deeper (`grow`): anything else changed would make its
// weights compute something else.
void check_grow(const tokenizer::DetokenizerOptions& was, const tokenizer::DetokenizerOptions& now) {
  auto shape_of = [](const tokenizer::DetokenizerOptions& d) {
    tokenizer::SetokConfig probe;
    probe.detokenizer = d;
    nlohmann::json j = probe.to_json()["detokenizer"];
    j.erase("layers");
    j.erase("decoder_res_blocks");
    return j;
  };
  if (shape_of(was) != shape_of(now))
    throw Error(
        "training config: grow: only detokenizer.layers and detokenizer.decoder_res_blocks may differ "
        "from the init model's detokenizer");
  if (now.layers() < was.layers() || now.decoder_res_blocks() < was.decoder_res_blocks())
    throw Error(
        "training config: grow: detokenizer.layers and decoder_res_blocks must not be fewer than the "
        "init model's (" +
        std::to_string(was.layers()) + ", " + std::to_string(was.decoder_res_blocks()) + ")");
}

// Weights come from the checkpoint when resuming, else from `init` when fine-tuning; either way
// the architecture, clustering and text encoder are that folder's. Puts them into cfg and returns
// the folder's config.json (null when training from scratch).
nlohmann::json adopt_start_model(SetokTrainConfig& cfg, const std::string& from, const std::string& resume_dir) {
  if (from.empty() && (!cfg.finetune.reinit.empty() || !cfg.finetune.grow.empty()))
    throw Error(std::string("training config: ") + (cfg.finetune.grow.empty() ? "reinit" : "grow") +
                " changes a trained model: set init to one");
  if (from.empty()) return nullptr;
  if (!fs::exists(fs::path(from) / "config.json")) throw Error(from + ": no config.json (not a SeTok model folder)");
  nlohmann::json prev = io::read_json_file((fs::path(from) / "config.json").string());
  if (!prev.contains("concept"))
    throw Error(from + (resume_dir.empty() ? ": not a SeTok trained by setok train setok (no concept section)"
                                           : ": not a training checkpoint (no concept section)"));
  const tokenizer::SetokConfig own = cfg.model;
  cfg.model = tokenizer::SetokConfig::from_json(prev);
  if (resume_dir.empty()) {
    for (const auto& n : cfg.finetune.reinit) {
      if (n == "merger") cfg.model.merger = own.merger;
      if (n == "detokenizer") cfg.model.detokenizer = own.detokenizer;
    }
    for (const auto& n : cfg.finetune.grow)
      if (n == "detokenizer") {
        check_grow(cfg.model.detokenizer, own.detokenizer);
        cfg.model.detokenizer = own.detokenizer;
      }
  }
  if (cfg.finetune.merger_absolute_position) cfg.model.merger.absolute_position(true);
  cfg.model.validate();
  if (prev["concept"].contains("text_encoder")) {
    const auto& t = prev["concept"]["text_encoder"];
    cfg.text.dim(t.value("dim", cfg.text.dim()))
        .layers(t.value("layers", cfg.text.layers()))
        .heads(t.value("heads", cfg.text.heads()))
        .max_len(t.value("max_len", cfg.text.max_len()));
  }
  return prev;
}

// Everything one training run holds: the model and its text side, the labels and words they
// know, and the step.
struct SetokRun {
  std::string from;     // the folder the weights start from ("" when from scratch)
  nlohmann::json prev;  // its config.json
  TrainerState st;
  WordVocab vocab;
  std::map<std::string, int64_t> label_id;
  tokenizer::SetokModel model{nullptr};
  TextEncoder text{nullptr};
  at::Tensor logit_scale;
  torch::nn::Linear semantic{nullptr};  // patch classes (semantic_weight), or none
  TokenHead head{nullptr};              // the token head (concept_head), or none
  torch::nn::Linear* semantic_ptr() { return semantic ? &semantic : nullptr; }
  TokenHead* head_ptr() { return head ? &head : nullptr; }
};

// The labels, their words and the step: the data's, or the start folder's (and its step when
// resuming). Sizes the text encoder to the words.
void read_labels(SetokRun& r, SetokTrainConfig& cfg, const SetokDataset& data, const std::string& resume_dir) {
  r.st.labels = data.label_names();
  std::vector<std::string> texts;
  for (const auto& l : r.st.labels)
    for (const auto& t : cfg.objective.templates) texts.push_back(fill_template(t, l));
  r.vocab = WordVocab(texts);
  if (!r.from.empty()) {
    r.vocab = WordVocab::from_json(r.prev["concept"]["vocab"]);
    r.st.labels = r.prev["concept"]["labels"].get<std::vector<std::string>>();
    if (!resume_dir.empty()) {
      auto state = io::read_json_file((fs::path(resume_dir) / "trainer_state.json").string());
      r.st.step = state.at("step").get<std::int64_t>();
    }
  }
  r.st.vocab = r.vocab.to_json();
  const auto& vc = cfg.model.vision;
  cfg.text.vocab_size(static_cast<int64_t>(r.vocab.size()))
      .out_dim(cfg.model.merger.mean_pool_only() ? vc.hidden_size : cfg.model.merger.dim_out());
  for (std::size_t i = 0; i < r.st.labels.size(); ++i) r.label_id[r.st.labels[i]] = static_cast<int64_t>(i);
}

// Draws the modules from cfg.seed, in an order every recipe keeps (so that a recipe without the
// optional heads draws the same initial weights as before they existed).
void build_modules(SetokRun& r, const SetokTrainConfig& cfg) {
  at::manual_seed(cfg.seed);
  r.model = tokenizer::SetokModel(cfg.model);
  r.text = TextEncoder(cfg.text);
  r.logit_scale = at::scalar_tensor(std::log(1.0 / cfg.objective.temperature)).set_requires_grad(true);
  // Supervised patch classes (semantic_weight): a linear head over the encoder's patch features,
  // one class per label plus background.
  if (cfg.extras.semantic_weight > 0)
    r.semantic = torch::nn::Linear(cfg.model.vision.hidden_size, static_cast<int64_t>(r.st.labels.size()) + 1);
  // The token head: this config's width, or the init (or checkpoint) model's head.
  std::int64_t head_hidden = cfg.extras.concept_head;
  if (!r.from.empty()) {
    const std::int64_t had = token_head_width(r.prev["concept"]);
    if (head_hidden > 0 && had > 0 && head_hidden != had)
      throw Error("training config: concept_head " + std::to_string(head_hidden) + " differs from the head of " +
                  r.from + " (" + std::to_string(had) + ")");
    if (had > 0) head_hidden = had;
  }
  if (head_hidden > 0) r.head = TokenHead(cfg.text.out_dim(), head_hidden);
}

// A fine-tune keeps the model's own fresh draw for the `reinit` modules and for a position layer
// (merger_absolute_position) that the init model was trained without; a grown module loads the
// weights it had, and its added blocks keep their fresh draw with each residual branch's last
// layer zeroed, so that each starts as the identity.
void keep_fresh_weights(io::TensorMap& weights, tokenizer::SetokModel& model, const SetokTrainConfig& cfg) {
  std::vector<std::string> fresh;
  for (const auto& n : cfg.finetune.reinit) fresh.push_back(n + ".");
  if (model->merger->position_proj && !weights.count("merger.position_proj.weight"))
    fresh.push_back("merger.position_proj.");
  auto is_fresh = [&](const std::string& key) {
    return std::any_of(fresh.begin(), fresh.end(), [&](const std::string& f) { return key.rfind(f, 0) == 0; });
  };
  for (auto it = weights.begin(); it != weights.end();) it = is_fresh(it->first) ? weights.erase(it) : std::next(it);
  for (const auto& [key, value] : nn::state_dict(*model))
    if (is_fresh(key)) weights[key] = value;
  if (std::find(cfg.finetune.grow.begin(), cfg.finetune.grow.end(), "detokenizer") == cfg.finetune.grow.end()) return;
  std::set<std::string> added;
  for (const auto& [key, value] : nn::state_dict(*model))
    if (key.rfind("detokenizer.", 0) == 0 && !weights.count(key)) {
      weights[key] = value;
      added.insert(key);
    }
  for (const auto& key : tokenizer::residual_outputs(*model->detokenizer, "detokenizer."))
    if (added.count(key)) weights[key] = at::zeros_like(weights[key]);
}

// The start folder's weights into the run's modules. A resumed run must find the heads it was
// trained with; a fine-tune (init) from a model trained without one starts it afresh (a token head
// as the identity).
void load_start_weights(SetokRun& r, const SetokTrainConfig& cfg, const std::string& resume_dir) {
  io::TensorMap weights = io::load_weights(r.from);
  if (resume_dir.empty()) keep_fresh_weights(weights, r.model, cfg);
  nn::load_state_dict(*r.model, weights);
  io::TensorMap tw = io::load_safetensors((fs::path(r.from) / "text_encoder.safetensors").string());
  {
    at::NoGradGuard ng;
    r.logit_scale.copy_(tw.at("logit_scale"));
  }
  tw.erase("logit_scale");
  const io::TensorMap head_w = nn::take_prefixed(tw, kSemanticHeadPrefix);
  const io::TensorMap token_head_w = nn::take_prefixed(tw, kTokenHeadPrefix);
  if (r.head) {
    if (!token_head_w.empty()) nn::load_state_dict(*r.head, token_head_w);
    else if (!resume_dir.empty())
      throw Error(r.from + ": the checkpoint holds no token head; resume it with the concept_head it was trained with");
  }
  if (r.semantic) {
    if (!head_w.empty()) nn::load_state_dict(*r.semantic, head_w);
    else if (!resume_dir.empty())
      throw Error(r.from + ": the model was trained without semantic_weight; train from it with semantic_weight 0");
  }
  nn::load_state_dict(*r.text, tw);
}

// Onto the device, in training mode, with the frozen parts' gradients off.
void prepare_modules(SetokRun& r, const SetokTrainConfig& cfg, const at::Device& device) {
  r.model->to(device);
  r.text->to(device);
  for (torch::nn::Module* m : {r.semantic ? static_cast<torch::nn::Module*>(r.semantic.get()) : nullptr,
                               r.head ? static_cast<torch::nn::Module*>(r.head.get()) : nullptr})
    if (m) {
      m->to(device);
      m->train();
    }
  r.model->train();
  r.model->encoder->checkpointing = cfg.checkpointing;
  r.text->train();
  r.logit_scale = r.logit_scale.to(device).detach().set_requires_grad(true);
  if (cfg.finetune.freeze_text)
    for (auto& p : r.text->parameters()) p.set_requires_grad(false);
  for (const auto& n : cfg.finetune.freeze) {
    torch::nn::Module& mod = n == "vision_model" ? static_cast<torch::nn::Module&>(*r.model->encoder)
                             : n == "cluster"    ? static_cast<torch::nn::Module&>(*r.model->cluster)
                             : n == "merger"     ? static_cast<torch::nn::Module&>(*r.model->merger)
                                                 : static_cast<torch::nn::Module&>(*r.model->detokenizer);
    for (auto& p : mod.parameters()) p.set_requires_grad(false);
  }
}

// AdamW over parameter groups, with each group's share of the scheduled rate.
struct Optimiser {
  std::unique_ptr<torch::optim::AdamW> opt;
  std::vector<double> group_scale;
  std::vector<at::Tensor> clipped;  // the parameters whose gradient norm is clipped
};

// Weight decay on matrices only; norms, biases, embeddings of positions and scales go without.
// With encoder_lr_scale != 1 the vision encoder's parameters form two groups of their own at that
// multiple of the rate (with 1, the two groups of every earlier checkpoint).
Optimiser make_optimiser(SetokRun& r, const SetokTrainConfig& cfg, const std::string& resume_dir) {
  std::vector<at::Tensor> decay, no_decay{r.logit_scale}, enc_decay, enc_no_decay;
  const bool scaled_encoder = cfg.finetune.encoder_lr_scale != 1.0;
  auto split = [&](torch::nn::Module& m) {
    for (auto& p : m.named_parameters()) {
      if (!p.value().requires_grad()) continue;
      const bool d = p.value().dim() >= 2 && p.key().find("position") == std::string::npos;
      const bool enc = scaled_encoder && &m == r.model.get() && p.key().rfind("vision_model.", 0) == 0;
      (enc ? (d ? enc_decay : enc_no_decay) : (d ? decay : no_decay)).push_back(p.value());
    }
  };
  split(*r.model);
  split(*r.text);
  if (r.semantic) split(*r.semantic);
  if (r.head) split(*r.head);
  Optimiser o;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto add_group = [&](const std::vector<at::Tensor>& ps, double wd, double scale) {
    if (ps.empty() && scale != 1.0) return;  // the two unscaled groups are always there (checkpoints)
    groups.emplace_back(ps, std::make_unique<torch::optim::AdamWOptions>(
                                torch::optim::AdamWOptions(cfg.lr * scale).weight_decay(wd).betas({0.9, 0.95})));
    o.group_scale.push_back(scale);
  };
  add_group(decay, cfg.weight_decay, 1.0);
  add_group(no_decay, 0.0, 1.0);
  add_group(enc_decay, cfg.weight_decay, cfg.finetune.encoder_lr_scale);
  add_group(enc_no_decay, 0.0, cfg.finetune.encoder_lr_scale);
  o.opt = std::make_unique<torch::optim::AdamW>(groups);
  if (!resume_dir.empty() && fs::exists(fs::path(resume_dir) / "optimizer.pt")) {
    torch::serialize::InputArchive ar;
    ar.load_from((fs::path(resume_dir) / "optimizer.pt").string());
    o.opt->load(ar);
  }
  o.clipped = decay;
  o.clipped.insert(o.clipped.end(), no_decay.begin(), no_decay.end());
  return o;
}

// One step's losses (Eq. 3 and the terms the paper does not have) and the accuracies logged. A
// term that is off stays zero.
struct StepLosses {
  explicit StepLosses(const at::TensorOptions& o)
      : rec(at::zeros({}, o)),
        perceptual(at::zeros({}, o)),
        concept(at::zeros({}, o)),
        grouping(at::zeros({}, o)),
        semantic(at::zeros({}, o)),
        decoder_mask(at::zeros({}, o)) {}
  at::Tensor rec, perceptual, concept, grouping, semantic, decoder_mask, total;
  double concept_acc = 0, semantic_acc = 0;
};

// L_rec: L1 and L2 of the picture, and the perceptual term with the project's own encoder as the
// perceptual network (features of the reconstruction should match those of the input).
void reconstruction_losses(StepLosses& l, SetokRun& r, const SetokTrainConfig& cfg, const at::Tensor& pixels,
                           at::Tensor recon) {
  if (!recon.defined()) return;
  recon = recon.to(at::kFloat);
  at::Tensor diff = recon - pixels;
  l.rec = cfg.objective.l1_weight * diff.abs().mean() + cfg.objective.l2_weight * diff.pow(2).mean();
  if (cfg.objective.perceptual_weight <= 0) return;
  at::Tensor target = r.model->encoder->patch_features(pixels).features.detach();
  l.perceptual = (r.model->encoder->patch_features(recon).features - target).pow(2).mean();
  l.rec = l.rec + cfg.objective.perceptual_weight * l.perceptual;
}

// L_concept over every annotated object of the batch: its tokens against its label's text.
void concept_losses(StepLosses& l, SetokRun& r, const SetokTrainConfig& cfg, const SetokBatch& batch,
                    const tokenizer::Tokenized& tk, const at::Device& device) {
  std::vector<at::Tensor> obj_tokens;
  std::vector<int64_t> obj_labels;
  for (std::size_t b = 0; b < batch.samples.size(); ++b) {
    const SetokSample& s = batch.samples[b];
    if (s.labels.empty()) continue;
    at::Tensor which = object_tokens(tk.clusters.masks[b], tk.clusters.token_valid[b], s.object_masks.to(device));
    obj_tokens.push_back(tk.tokens[b].index_select(0, which));
    for (const auto& name : s.labels) {
      auto it = r.label_id.find(name);
      if (it == r.label_id.end())
        throw Error("training data has label '" + name + "' that the checkpoint does not know");
      obj_labels.push_back(it->second);
    }
  }
  if (obj_tokens.empty() || cfg.objective.concept_weight <= 0) return;
  std::set<int64_t> present(obj_labels.begin(), obj_labels.end());
  std::vector<int64_t> present_v(present.begin(), present.end());
  std::map<int64_t, int64_t> local;
  std::vector<std::string> prompts;
  std::mt19937_64 rng(cfg.seed * 7919 + static_cast<std::uint64_t>(r.st.step));
  for (std::size_t i = 0; i < present_v.size(); ++i) {
    local[present_v[i]] = static_cast<int64_t>(i);
    prompts.push_back(
        fill_template(cfg.objective.templates[rng() % cfg.objective.templates.size()], r.st.labels[present_v[i]]));
  }
  std::vector<int64_t> targets;
  for (auto id : obj_labels) targets.push_back(local[id]);
  at::Tensor text_emb = r.text->forward(r.vocab.encode_batch(prompts).to(device));
  at::Tensor toks = at::cat(obj_tokens);
  if (r.head) toks = r.head->forward(toks);
  ConceptLoss cl = concept_contrastive_loss(toks, text_emb, at::tensor(targets, at::kLong).to(device),
                                            r.logit_scale.exp().clamp_max(100.0));
  l.concept = cl.loss;
  l.concept_acc = cl.accuracy;
}

// Patch labels for the grouping loss: the object covering most of the patch if it covers at least
// half of it, background when no object covers more than a tenth, ignored (-1) in between.
at::Tensor grouping_labels(const SetokBatch& batch, int64_t patches) {
  std::vector<at::Tensor> lab;
  for (const auto& s : batch.samples) {
    at::Tensor l = at::zeros({patches}, at::kLong);
    if (s.object_masks.size(0) > 0) {
      auto mx = s.object_masks.max(0);
      at::Tensor cover = std::get<0>(mx), who = std::get<1>(mx) + 1;
      l = at::where(cover >= 0.5, who, at::where(cover <= 0.1, at::zeros_like(who), at::full_like(who, -1)));
    }
    lab.push_back(l);
  }
  return at::stack(lab);
}

// Patch classes: the label of the object covering at least half of the patch, background (the last
// class) where objects cover at most a tenth, ignored (-1) in between.
at::Tensor semantic_labels(const SetokRun& r, const SetokBatch& batch, int64_t patches) {
  const int64_t bg = static_cast<int64_t>(r.st.labels.size());
  std::vector<at::Tensor> lab;
  for (const auto& s : batch.samples) {
    at::Tensor l = at::full({patches}, bg, at::kLong);
    if (s.object_masks.size(0) > 0) {
      std::vector<int64_t> ids;
      for (const auto& name : s.labels) ids.push_back(r.label_id.at(name));
      auto mx = s.object_masks.max(0);
      at::Tensor cover = std::get<0>(mx), cls = at::tensor(ids, at::kLong).index_select(0, std::get<1>(mx));
      l = at::where(cover >= 0.5, cls, at::where(cover <= 0.1, at::full_like(cls, bg), at::full_like(cls, -1)));
    }
    lab.push_back(l);
  }
  return at::stack(lab);
}

// The patch-level terms: grouping (grouping_weight) and patch classes (semantic_weight, with its
// accuracy on object patches only: background is most of every image).
void patch_losses(StepLosses& l, SetokRun& r, const SetokTrainConfig& cfg, const SetokBatch& batch,
                  const tokenizer::Tokenized& tk, const at::Device& device) {
  const int64_t n = tk.features.size(1);
  if (cfg.extras.grouping_weight > 0) {
    at::Tensor items;  // several ranks: this rank's share of the mean over all their patches
    l.grouping = grouping_loss(tk.features, grouping_labels(batch, n).to(device), 0.1, &items);
    l.grouping = l.grouping * dist::share_of_items(items);
  }
  if (!r.semantic) return;
  const int64_t bg = static_cast<int64_t>(r.st.labels.size());
  at::Tensor target = semantic_labels(r, batch, n).to(device).reshape({-1});
  at::Tensor logits = r.semantic->forward(tk.features.reshape({-1, tk.features.size(2)}));
  l.semantic = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, -1) * dist::share_of_items(target != -1);
  at::Tensor objects = (target >= 0) & (target != bg);
  l.semantic_acc =
      objects.any().item<bool>()
          ? (logits.detach().argmax(1) == target).masked_select(objects).to(at::kFloat).mean().item<double>()
          : 0.0;
}

// A step's forward pass: the tokens (clustered with this step's object bandwidth when asked), and
// the picture and the decoder's mask logits when a loss reads them.
struct Forward {
  tokenizer::Tokenized tk;
  at::Tensor recon, mask_logits;
  float bandwidth = 0;  // this step's object bandwidth (0: none)
};

Forward forward_step(SetokRun& r, const SetokTrainConfig& cfg, const SetokBatch& batch, const at::Tensor& pixels,
                     bool amp) {
  Forward f;
  const bool draws = cfg.objective.rec_weight > 0 || cfg.extras.decoder_mask_weight > 0;
  {
    AutocastScope autocast(pixels.device().type(), amp);
    f.tk = r.model->tokenize(pixels, r.model->config().cluster,
                             [&](const at::Tensor& features, tokenizer::ClusterParams& p) {
                               if (!cfg.extras.object_bandwidth) return;
                               f.bandwidth = object_bandwidth(*r.model->cluster, p, features, batch.samples);
                               p.bandwidth = f.bandwidth;
                               r.model->cluster->set_bandwidth(f.bandwidth);  // the learnt σ, when there is one
                             });
    // A stage that weighs neither the picture nor the decoder's masks (one training only the text
    // side, say) does not draw at all.
    if (draws)
      f.recon = r.model->reconstruct(pixels, f.tk, cfg.extras.decoder_mask_weight > 0 ? &f.mask_logits : nullptr);
  }
  if (amp) {
    // The losses run outside autocast, in f32, beside f32 tensors (text embeddings, masks).
    for (at::Tensor* t : {&f.tk.features, &f.tk.tokens, &f.tk.clusters.masks, &f.tk.clusters.soft_masks,
                          &f.tk.clusters.density, &f.tk.clusters.score})
      if (t->defined() && at::isFloatingType(t->scalar_type())) *t = t->to(at::kFloat);
  }
  return f;
}

StepLosses step_losses(SetokRun& r, const SetokTrainConfig& cfg, const SetokBatch& batch, const at::Tensor& pixels,
                       const Forward& f) {
  StepLosses l(pixels.options());
  reconstruction_losses(l, r, cfg, pixels, f.recon);
  concept_losses(l, r, cfg, batch, f.tk, pixels.device());
  patch_losses(l, r, cfg, batch, f.tk, pixels.device());
  // The decoder's masks against the clustering's (hard, one-hot over the valid tokens; padded tokens
  // have logit -1e4 and target 0): where each token lies, from the tokens alone.
  if (f.mask_logits.defined())
    l.decoder_mask =
        -(f.tk.clusters.masks.to(at::kFloat) * at::log_softmax(f.mask_logits.to(at::kFloat), 2)).sum(2).mean();
  l.total = cfg.objective.rec_weight * l.rec + cfg.objective.concept_weight * l.concept +
            cfg.extras.grouping_weight * l.grouping + cfg.extras.semantic_weight * l.semantic +
            cfg.extras.decoder_mask_weight * l.decoder_mask;
  return l;
}

// Images per second over the last logging window, and the time left.
struct Clocks {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), window = start;
  std::int64_t first_step = 0, window_images = 0;
};

void emit_step(ProgressWriter& progress, Clocks& c, SetokRun& r, const SetokTrainConfig& cfg, const SetokDataset& data,
               const BatchLoader& loader, const StepLosses& l, const Forward& f, double loss, double gnorm, double lr) {
  const int ranks = dist::world_size();
  auto now = std::chrono::steady_clock::now();
  const double win = std::chrono::duration<double>(now - c.window).count();
  const double elapsed = std::chrono::duration<double>(now - c.start).count();
  const double eta = (cfg.steps - r.st.step) * elapsed / std::max<std::int64_t>(1, r.st.step - c.first_step);
  progress.emit(
      {{"event", "step"},
       {"step", r.st.step},
       {"total_steps", cfg.steps},
       {"epoch", static_cast<double>(r.st.step) * cfg.batch_size * ranks / data.size()},
       {"loss", loss},  // the mean over the ranks; the parts below are rank 0's
       {"loss_rec", l.rec.item<double>()},
       {"loss_perceptual", l.perceptual.item<double>()},
       {"loss_concept", l.concept.item<double>()},
       {"loss_grouping", l.grouping.item<double>()},
       {"loss_semantic", l.semantic.item<double>()},
       {"loss_decoder_mask", l.decoder_mask.item<double>()},
       {"semantic_acc", l.semantic_acc},
       {"concept_acc", l.concept_acc},
       {"tokens_per_image", f.tk.clusters.num_tokens.to(at::kDouble).mean().item<double>()},
       {"bandwidth", cfg.extras.object_bandwidth ? static_cast<double>(f.bandwidth) : r.model->cluster->bandwidth()},
       {"temperature", 1.0 / r.logit_scale.exp().item<double>()},
       {"grad_norm", gnorm},
       {"lr", lr},
       {"images_per_s", c.window_images * ranks / std::max(win, 1e-9)},
       {"data_wait_s", loader.wait_seconds()},
       {"memory_mb", resident_bytes() / 1048576.0},
       {"eta_s", eta}});
  c.window = now;
  c.window_images = 0;
}

TrainSummary summary_of(const Clocks& c, const SetokRun& r, const SetokTrainConfig& cfg, const std::string& dir) {
  TrainSummary sum;
  sum.steps_done = r.st.step - c.first_step;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
  sum.images_per_s = sum.steps_done * cfg.batch_size * dist::world_size() / std::max(sum.seconds, 1e-9);
  sum.model_dir = dir;
  return sum;
}

// The dataset at the model's image size: the caller's, or train_data opened into `owned`.
const SetokDataset& open_data(const SetokTrainConfig& cfg, const SetokDataset* given,
                              std::unique_ptr<SetokDataset>& owned) {
  if (given) return *given;
  if (cfg.train_data.empty()) throw Error("training config: train_data is not set");
  const auto& vc = cfg.model.vision;
  owned = open_setok_dataset(cfg.train_data, static_cast<int>(vc.image_size), static_cast<int>(vc.patch_size));
  return *owned;
}

// The settings that need the start model's config to be checked.
void check_config(const SetokTrainConfig& cfg) {
  const auto& vc = cfg.model.vision;
  if (cfg.extras.decoder_mask_weight > 0 &&
      (!cfg.model.detokenizer.broadcast() || cfg.model.detokenizer.grid() != vc.image_size / vc.patch_size))
    throw Error(
        "training config: decoder_mask_weight needs a broadcast detokenizer (detokenizer.broadcast) whose "
        "grid is the encoder's");
}

// The final model: the checkpoint's config + weights (+ text encoder), marked trained; then, with
// a validation split, its clustering σ and β calibrated on it.
TrainSummary finish_run(SetokRun& r, const SetokTrainConfig& cfg, tokenizer::SetokConfig saved_config,
                        const Clocks& clocks, const BatchLoader& loader, ProgressWriter& progress) {
  if (!dist::is_writer()) return summary_of(clocks, r, cfg, (fs::path(cfg.out) / "model").string());
  saved_config.trained = true;
  const fs::path model_dir = fs::path(cfg.out) / "model";
  save_checkpoint_dir(model_dir, r.model, saved_config, r.text, r.logit_scale, nullptr, r.head_ptr(), nullptr, cfg,
                      r.st);
  fs::remove(model_dir / "trainer_state.json");
  TrainSummary sum = summary_of(clocks, r, cfg, model_dir.string());
  sum.data_wait_s = loader.wait_seconds();
  progress.emit({{"event", "done"},
                 {"step", r.st.step},
                 {"seconds", sum.seconds},
                 {"images_per_s", sum.images_per_s},
                 {"data_wait_s", sum.data_wait_s},
                 {"model", sum.model_dir},
                 {"peak_memory_mb", peak_resident_bytes() / 1048576.0}});
  if (cfg.calibrate && !cfg.val_data.empty()) {
    // The final model only (a pause returned earlier with a checkpoint): σ and β from the val split.
    const eval::Calibration c = eval::calibrate_model_folder(sum.model_dir, cfg.val_data);
    progress.emit({{"event", "calibrated"},
                   {"bandwidth", c.bandwidth},
                   {"beta", c.beta},
                   {"val_fg_ari", c.fg_ari},
                   {"val_tokens_within_one", c.within_one},
                   {"val_tokens_per_image", c.tokens_per_image}});
  }
  return sum;
}

}  // namespace

TrainSummary train_setok(const SetokTrainConfig& cfg_in, const std::string& resume_dir, ProgressWriter& progress,
                         const SetokDataset* data_override) {
  SetokTrainConfig cfg = cfg_in;
  SetokRun r;
  r.from = !resume_dir.empty() ? resume_dir : cfg.finetune.init;
  r.prev = adopt_start_model(cfg, r.from, resume_dir);  // before the data: it sets the image size
  check_config(cfg);
  std::unique_ptr<SetokDataset> owned;
  const SetokDataset& data = open_data(cfg, data_override, owned);
  const at::Device device(cfg.device);
  if (device.is_cuda() && !at::hasCUDA()) throw Error("device " + cfg.device + ": this LibTorch has no CUDA");
  read_labels(r, cfg, data, resume_dir);
  build_modules(r, cfg);
  if (!r.from.empty()) load_start_weights(r, cfg, resume_dir);
  prepare_modules(r, cfg, device);
  Optimiser o = make_optimiser(r, cfg, resume_dir);
  fs::create_directories(cfg.out);
  const fs::path ckpt_dir = fs::path(cfg.out) / "checkpoint";
  BatchLoader loader(data, cfg.batch_size, cfg.seed, r.st.step, 4, dist::world_rank(), dist::world_size());
  const std::unique_ptr<dist::GradientSync> sync = dist::data_parallel(*o.opt);
  std::int64_t parameters = 0;
  for (auto& p : r.model->parameters()) parameters += p.numel();
  progress.emit({{"event", "start"},
                 {"step", r.st.step},
                 {"total_steps", cfg.steps},
                 {"images", data.size()},
                 {"parameters", parameters},
                 {"device", cfg.device},
                 {"resumed", !resume_dir.empty()}});
  // What the checkpoints' config.json will say of the model (object_bandwidth updates σ in it).
  tokenizer::SetokConfig saved_config = r.model->config();
  Clocks clocks;
  clocks.first_step = r.st.step;
  const bool amp = device.is_cuda() ? cfg.mixed_precision : cfg.cpu_bf16;
  while (r.st.step < cfg.steps) {
    SetokBatch batch = loader.next();
    const double lr = warmup_cosine_lr(r.st.step, cfg.lr, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio);
    for (std::size_t g = 0; g < o.opt->param_groups().size(); ++g)
      static_cast<torch::optim::AdamWOptions&>(o.opt->param_groups()[g].options()).lr(lr * o.group_scale[g]);
    const at::Tensor pixels = batch.pixels.to(device);
    const Forward f = forward_step(r, cfg, batch, pixels, amp);
    if (cfg.extras.object_bandwidth) saved_config.cluster.bandwidth = f.bandwidth;
    const StepLosses l = step_losses(r, cfg, batch, pixels, f);
    const dist::StepAgreement agreed =
        dist::agree_on_step(r.st.step, l.total.item<double>(), g_pause_requested.exchange(false));
    stop_if_not_finite(agreed.loss, "loss", r.st.step, ckpt_dir.string(), progress);
    o.opt->zero_grad();
    if (sync) sync->begin();
    l.total.backward();
    if (sync) sync->finish();
    const double gnorm = torch::nn::utils::clip_grad_norm_(o.clipped, cfg.clip_grad_norm);
    stop_if_not_finite(gnorm, "gradient", r.st.step, ckpt_dir.string(), progress);
    o.opt->step();
    ++r.st.step;
    clocks.window_images += cfg.batch_size;
    if (r.st.step % cfg.log_every == 0 || r.st.step == cfg.steps)
      emit_step(progress, clocks, r, cfg, data, loader, l, f, agreed.loss, gnorm, lr);
    const bool pause = r.st.step < cfg.steps && ((cfg.stop_at > 0 && r.st.step >= cfg.stop_at) || agreed.pause);
    const bool save = (cfg.checkpoint_every > 0 && r.st.step % cfg.checkpoint_every == 0) || r.st.step == cfg.steps;
    if ((save || pause) && dist::is_writer()) {
      save_checkpoint_dir(ckpt_dir, r.model, saved_config, r.text, r.logit_scale, r.semantic_ptr(), r.head_ptr(),
                          o.opt.get(), cfg, r.st);
      progress.emit({{"event", "checkpoint"}, {"step", r.st.step}, {"path", ckpt_dir.string()}});
    }
    if (pause) {
      progress.emit({{"event", "paused"}, {"step", r.st.step}, {"checkpoint", ckpt_dir.string()}});
      return summary_of(clocks, r, cfg, ckpt_dir.string());
    }
  }
  if (sync)
    progress.emit({{"event", "data_parallel"},
                   {"ranks", dist::world_size()},
                   {"buckets", sync->buckets()},
                   {"allreduce_wait_s", sync->wait_seconds()}});
  return finish_run(r, cfg, saved_config, clocks, loader, progress);
}

}  // namespace setok::train
