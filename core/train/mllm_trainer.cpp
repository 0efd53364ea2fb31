#include "core/train/mllm_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "core/data/coco.h"
#include "core/data/generation_prompts.h"
#include "core/data/instruct_pix2pix.h"
#include "core/data/llava.h"
#include "core/data/refcoco.h"
#include "core/dist/gradient_sync.h"
#include "core/dist/world_group.h"
#include "core/heads/diffusion_head.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/image.h"
#include "core/io/safetensors.h"
#include "core/llm/lora.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/chat_template.h"
#include "core/mllm/edit_request.h"
#include "core/mllm/generation_request.h"
#include "core/mllm/referring_wording.h"
#include "core/mllm/setokim.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/autocast.h"
#include "core/train/config_keys.h"
#include "core/train/edit_task.h"
#include "core/train/generation_task.h"
#include "core/train/schedule.h"

namespace fs = std::filesystem;

namespace setok::train {
namespace {

// One training example: a conversation (with images) or plain text.
struct Example {
  std::vector<std::string> images;  // resolved paths, in order of the conversation's [Img] pairs
  std::vector<mllm::ChatMessage> chat;
  bool text_only = false;  // language modelling: every token is a target
  bool referring = false;  // chat[0].text is an expression, asked in a wording drawn per step
  bool generate = false;   // chat[0].text is a prompt; the answer is images[0] as visual tokens
  bool edit = false;       // chat[0].text is an instruction on images[0]; the answer writes images[1]'s new tokens
};

fs::path dataset_root(const std::string& annotation_file) {
  fs::path p = fs::path(annotation_file).parent_path();
  return p.filename() == "annotations" ? p.parent_path() : p;
}

std::string resolve_image(const fs::path& root, const std::string& rel) {
  for (const fs::path& p : {root / rel, root / "images" / rel})
    if (fs::exists(p)) return p.string();
  throw Error("image " + rel + " not found under " + root.string());
}

std::string strip_image_marker(std::string s, int* count) {
  const std::string mark = "<image>";
  for (std::size_t p; (p = s.find(mark)) != std::string::npos;) {
    s.erase(p, mark.size());
    ++*count;
  }
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.erase(s.begin());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<Example> conversation_examples(const std::string& path, bool as_text, bool split_turns = false) {
  std::vector<Example> out;
  const fs::path root = dataset_root(path);
  for (const auto& c : data::read_llava(path)) {
    Example e;
    e.text_only = as_text;
    int marks_total = 0;
    for (const auto& t : c.turns) {
      int marks = 0;
      std::string text = strip_image_marker(t.value, &marks);
      marks_total += marks;
      mllm::ChatMessage m;
      m.role = t.from == "human" ? "user" : t.from == "gpt" ? "assistant" : t.from;
      m.text = text;
      m.images = as_text || m.role != "user" ? 0 : marks;
      e.chat.push_back(m);
    }
    if (!as_text && !c.image.empty()) {
      if (marks_total == 0)
        for (auto& m : e.chat)
          if (m.role == "user") {
            m.images = 1;
            break;
          }
      e.images.push_back(resolve_image(root, c.image));
    }
    if (e.chat.empty()) continue;
    if (split_turns && !as_text && e.images.size() == 1) {
      // One example per question–answer pair, the image leading each question: what a single
      // question about an image looks like at inference time.
      for (std::size_t k = 0; k + 1 < e.chat.size(); ++k) {
        if (e.chat[k].role != "user" || e.chat[k + 1].role != "assistant") continue;
        Example one;
        one.images = e.images;
        one.chat = {e.chat[k], e.chat[k + 1]};
        one.chat[0].images = 1;
        out.push_back(std::move(one));
      }
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// One example per sentence of every ref: the image, the expression, and [SEG] as the answer.
std::vector<Example> referring_examples(const std::string& path) {
  std::vector<Example> out;
  const fs::path root = dataset_root(path);
  for (const data::Ref& r : data::read_refs(path)) {
    const std::string image = resolve_image(root, r.file_name);
    for (const auto& s : r.sentences) {
      Example e;
      e.images = {image};
      e.chat = {{"user", s.sent, 1}, {"assistant", llm::kSeg, 0}};
      e.referring = true;
      out.push_back(std::move(e));
    }
  }
  if (out.empty()) throw Error(path + ": no referring sentences");
  return out;
}

// One example per prompt: the request, and its image as the answer's visual tokens.
std::vector<Example> generation_examples(const std::string& path) {
  std::vector<Example> out;
  for (const data::GenerationPrompt& p : data::read_generation_prompts(path)) {
    Example e;
    e.images = {p.image};
    e.chat = {{"user", p.prompt, 0}, {"assistant", mllm::generation_answer(), 0}};
    e.generate = true;
    out.push_back(std::move(e));
  }
  return out;
}

// One example per triplet: the input image and the instruction; the answer is planned per step.
std::vector<Example> edit_examples(const std::string& path) {
  std::vector<Example> out;
  for (const data::EditTriplet& t : data::read_edit_triplets(path)) {
    Example e;
    e.images = {t.input_image, t.edited_image};
    e.chat = {{"user", t.instruction, 1}, {"assistant", "", 0}};
    e.edit = true;
    out.push_back(std::move(e));
  }
  if (out.empty()) throw Error(path + ": no edits");
  return out;
}

std::vector<Example> caption_examples(const std::string& path) {
  std::vector<Example> out;
  const fs::path root = dataset_root(path);
  data::CocoCaptions caps = data::read_coco_captions(path);
  std::map<std::int64_t, std::string> file;
  for (const auto& im : caps.images) file[im.id] = im.file_name;
  for (const auto& c : caps.captions) {
    auto it = file.find(c.image_id);
    if (it == file.end()) throw Error(path + ": caption " + std::to_string(c.id) + " has no image");
    Example e;
    e.images.push_back(resolve_image(root, it->second));
    e.chat = {{"user", "Describe the image briefly.", 1}, {"assistant", c.caption, 0}};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> all_text(const std::vector<Example>& a, const std::vector<Example>& b) {
  std::vector<std::string> s;
  for (const auto* v : {&a, &b})
    for (const auto& e : *v)
      for (const auto& m : e.chat) s.push_back(m.text);
  s.push_back("USER: ASSISTANT:");
  return s;
}

const char* const kFreezable[] = {"setok",         "setok.vision_model", "setok.cluster",
                                  "setok.merger",  "setok.detokenizer",  "multi_modal_projector",
                                  "language_model"};

Error unknown_module(const std::string& name) {
  std::string known;
  for (const char* k : kFreezable) known += (known.empty() ? "" : ", ") + std::string(k);
  return Error("freeze: unknown module '" + name + "' (" + known + ")");
}

void set_frozen(mllm::Setokim& m, const std::vector<std::string>& names) {
  for (auto& p : m->parameters()) p.set_requires_grad(true);
  for (const auto& n : names) {
    torch::nn::Module* mod = nullptr;
    if (n == "setok") mod = m->setok.ptr().get();
    else if (n == "setok.vision_model") mod = m->setok->encoder.ptr().get();
    else if (n == "setok.cluster") mod = m->setok->cluster.ptr().get();
    else if (n == "setok.merger") mod = m->setok->merger.ptr().get();
    else if (n == "setok.detokenizer") mod = m->setok->detokenizer.ptr().get();
    else if (n == "multi_modal_projector") mod = m->multi_modal_projector.ptr().get();
    else if (n == "language_model") mod = m->language_model.ptr().get();
    else throw unknown_module(n);
    for (auto& p : mod->parameters()) p.set_requires_grad(false);
  }
}

void save_dir(const fs::path& dir, mllm::Setokim& m, heads::DiffusionHeadImpl* head, const fs::path& tokenizer_model,
              torch::optim::Optimizer* opt, const nlohmann::json& state) {
  const fs::path tmp = io::begin_folder_swap(dir.string());
  mllm::save_setokim(tmp.string(), m);
  if (head) heads::save_diffusion_head(tmp.string(), *head);
  // A checkpoint keeps LoRA adapters beside the (unmerged) base weights.
  io::TensorMap adapters = llm::lora_tensors(m->language_model);
  if (!adapters.empty()) {
    for (auto& [name, t] : adapters) t = t.detach().to(at::kCPU);
    io::save_safetensors((tmp / "lora.safetensors").string(), adapters);
  }
  fs::copy_file(tokenizer_model, tmp / "tokenizer.model", fs::copy_options::overwrite_existing);
  if (opt) {
    torch::serialize::OutputArchive ar;
    opt->save(ar);
    ar.save_to((tmp / "optimizer.pt").string());
    io::write_file_atomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
  }
  io::commit_folder_swap(dir.string());
}

}  // namespace

MllmTrainConfig MllmTrainConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("training config is not a JSON object");
  MllmTrainConfig c;
  reject_unknown_keys(j, c.to_json());
  try {
    get_to(j, "stage", c.stage);
    get_to(j, "init", c.init);
    get_to(j, "setok_model", c.setok_model);
    get_to(j, "text_config", c.text_config);
    get_to(j, "tokenizer", c.tokenizer);
    get_to(j, "tokenizer_vocab", c.tokenizer_vocab);
    get_to(j, "connector", c.connector);
    get_to(j, "fixed_k", c.fixed_k);
    get_to(j, "token_geometry", c.token_geometry);
    get_to(j, "token_appearance", c.token_appearance);
    get_to(j, "geometry_lr_scale", c.geometry_lr_scale);
    get_to(j, "captions", c.captions);
    get_to(j, "conversations", c.conversations);
    get_to(j, "language_ratio", c.language_ratio);
    get_to(j, "split_turns", c.split_turns);
    get_to(j, "drop_suffix", c.drop_suffix);
    get_to(j, "drop_suffix_rate", c.drop_suffix_rate);
    if (j.contains("question_rewrites")) {
      const auto& rw = j["question_rewrites"];
      if (!rw.is_array()) throw Error("training config: question_rewrites must be a list of {\"from\", \"to\"}");
      for (const auto& r : rw) {
        if (!r.is_object() || !r.contains("from") || !r.contains("to") || !r["from"].is_string() || !r["to"].is_array())
          throw Error("training config: each question_rewrites entry needs \"from\" (text) and \"to\" (a list)");
        mllm::TextRewrite t{r["from"].get<std::string>(), r["to"].get<std::vector<std::string>>()};
        if (t.from.empty() || t.to.empty())
          throw Error("training config: a question_rewrites entry has an empty \"from\" or no \"to\"");
        c.question_rewrites.push_back(std::move(t));
      }
    }
    get_to(j, "question_rewrite_rate", c.question_rewrite_rate);
    get_to(j, "referring", c.referring);
    get_to(j, "referring_rate", c.referring_rate);
    get_to(j, "generation", c.generation);
    get_to(j, "generation_rate", c.generation_rate);
    get_to(j, "generation_null_rate", c.generation_null_rate);
    get_to(j, "edits", c.edits);
    get_to(j, "edit_rate", c.edit_rate);
    get_to(j, "edit_change_share", c.edit_change_share);
    get_to(j, "diffusion_head", c.diffusion_head);
    get_to(j, "diffusion_weight", c.diffusion_weight);
    get_to(j, "stop_weight", c.stop_weight);
    get_to(j, "diffusion_repeats", c.diffusion_repeats);
    get_to(j, "diffusion_lr_scale", c.diffusion_lr_scale);
    get_to(j, "freeze", c.freeze);
    for (const auto& n : c.freeze)
      if (std::find(std::begin(kFreezable), std::end(kFreezable), n) == std::end(kFreezable)) throw unknown_module(n);
    get_to(j, "lora", c.lora);
    get_to(j, "out", c.out);
    get_to(j, "device", c.device);
    get_to(j, "mixed_precision", c.mixed_precision);
    get_to(j, "cpu_bf16", c.cpu_bf16);
    get_to(j, "checkpointing", c.checkpointing);
    get_to(j, "seed", c.seed);
    get_to(j, "batch_size", c.batch_size);
    get_to(j, "steps", c.steps);
    get_to(j, "warmup_steps", c.warmup_steps);
    get_to(j, "checkpoint_every", c.checkpoint_every);
    get_to(j, "log_every", c.log_every);
    get_to(j, "stop_at", c.stop_at);
    get_to(j, "max_length", c.max_length);
    get_to(j, "lr", c.lr);
    get_to(j, "min_lr_ratio", c.min_lr_ratio);
    get_to(j, "weight_decay", c.weight_decay);
    get_to(j, "clip_grad_norm", c.clip_grad_norm);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("training config: ") + e.what());
  }
  if (c.stage != 1 && c.stage != 2) throw Error("training config: stage must be 1 or 2");
  if (c.batch_size < 1 || c.steps < 1 || !(c.lr > 0) || c.max_length < 8)
    throw Error("training config: batch_size, steps, lr and max_length (>= 8) must be positive");
  if (!(c.language_ratio >= 0 && c.language_ratio < 1))
    throw Error("training config: language_ratio must be in [0, 1)");
  if (c.init.empty() && c.setok_model.empty()) throw Error("training config: set init (a SeTokim) or setok_model");
  if (!(c.geometry_lr_scale > 0)) throw Error("training config: geometry_lr_scale must be positive");
  if (!(c.drop_suffix_rate >= 0 && c.drop_suffix_rate <= 1))
    throw Error("training config: drop_suffix_rate must be in [0, 1]");
  if (!(c.question_rewrite_rate >= 0 && c.question_rewrite_rate <= 1))
    throw Error("training config: question_rewrite_rate must be in [0, 1]");
  if (!(c.referring_rate >= 0 && c.referring_rate <= 1))
    throw Error("training config: referring_rate must be in [0, 1]");
  if (c.referring_rate > 0 && c.referring.empty())
    throw Error("training config: referring_rate needs a refs file (referring)");
  if (!(c.generation_rate >= 0 && c.generation_rate <= 1) ||
      !(c.generation_null_rate >= 0 && c.generation_null_rate < 1))
    throw Error("training config: generation_rate must be in [0, 1] and generation_null_rate in [0, 1)");
  if (c.generation_rate > 0 && c.generation.empty())
    throw Error("training config: generation_rate needs a prompts file (generation)");
  if (!(c.edit_rate >= 0 && c.edit_rate <= 1) || !(c.edit_change_share > 0 && c.edit_change_share <= 1))
    throw Error("training config: edit_rate must be in [0, 1] and edit_change_share in (0, 1]");
  if (c.edit_rate > 0 && c.edits.empty()) throw Error("training config: edit_rate needs an edits file (edits)");
  if (!(c.diffusion_weight >= 0) || !(c.stop_weight >= 0) || c.diffusion_repeats < 1 || !(c.diffusion_lr_scale > 0))
    throw Error("training config: diffusion_weight and stop_weight must not be negative, diffusion_repeats >= 1");
  if (!c.diffusion_head.is_object()) throw Error("training config: diffusion_head must be an object");
  if (c.token_appearance != 0 && (c.token_appearance < 4 || c.token_appearance > 32))
    throw Error("training config: token_appearance must be 0 (off) or 4 to 32");
  if (c.token_appearance != 0 && c.init.empty() && !c.token_geometry)
    throw Error("training config: token_appearance needs token_geometry");
  if (c.stage == 1 && c.captions.empty()) throw Error("training config: stage 1 needs captions");
  if (c.stage == 2 && c.conversations.empty()) throw Error("training config: stage 2 needs conversations");
  return c;
}

nlohmann::json MllmTrainConfig::to_json() const {
  nlohmann::json rewrites_json = nlohmann::json::array();
  for (const auto& r : question_rewrites) rewrites_json.push_back({{"from", r.from}, {"to", r.to}});
  return {{"stage", stage},
          {"init", init},
          {"setok_model", setok_model},
          {"text_config", text_config},
          {"tokenizer", tokenizer},
          {"tokenizer_vocab", tokenizer_vocab},
          {"connector", connector},
          {"fixed_k", fixed_k},
          {"token_geometry", token_geometry},
          {"token_appearance", token_appearance},
          {"geometry_lr_scale", geometry_lr_scale},
          {"captions", captions},
          {"conversations", conversations},
          {"language_ratio", language_ratio},
          {"split_turns", split_turns},
          {"drop_suffix", drop_suffix},
          {"drop_suffix_rate", drop_suffix_rate},
          {"question_rewrites", rewrites_json},
          {"question_rewrite_rate", question_rewrite_rate},
          {"referring", referring},
          {"referring_rate", referring_rate},
          {"generation", generation},
          {"generation_rate", generation_rate},
          {"generation_null_rate", generation_null_rate},
          {"edits", edits},
          {"edit_rate", edit_rate},
          {"edit_change_share", edit_change_share},
          {"diffusion_head", diffusion_head},
          {"diffusion_weight", diffusion_weight},
          {"stop_weight", stop_weight},
          {"diffusion_repeats", diffusion_repeats},
          {"diffusion_lr_scale", diffusion_lr_scale},
          {"freeze", freeze},
          {"lora", lora},
          {"out", out},
          {"device", device},
          {"mixed_precision", mixed_precision},
          {"cpu_bf16", cpu_bf16},
          {"checkpointing", checkpointing},
          {"seed", seed},
          {"batch_size", batch_size},
          {"steps", steps},
          {"warmup_steps", warmup_steps},
          {"checkpoint_every", checkpoint_every},
          {"log_every", log_every},
          {"stop_at", stop_at},
          {"max_length", max_length},
          {"lr", lr},
          {"min_lr_ratio", min_lr_ratio},
          {"weight_decay", weight_decay},
          {"clip_grad_norm", clip_grad_norm}};
}

namespace {

// The stage's examples: captions (stage 1, with text-only conversations beside them when
// language_ratio > 0) or instruction conversations (stage 2).
struct MllmData {
  std::vector<Example> vision, text, referring, generation, edits;
  bool writes_images() const { return !generation.empty() || !edits.empty(); }
};

MllmData read_examples(const MllmTrainConfig& cfg) {
  MllmData d;
  if (cfg.stage == 1) {
    d.vision = caption_examples(cfg.captions);
    if (!cfg.conversations.empty() && cfg.language_ratio > 0) d.text = conversation_examples(cfg.conversations, true);
  } else {
    d.vision = conversation_examples(cfg.conversations, false, cfg.split_turns);
    if (!cfg.referring.empty() && cfg.referring_rate > 0) d.referring = referring_examples(cfg.referring);
  }
  if (!cfg.generation.empty() && cfg.generation_rate > 0) d.generation = generation_examples(cfg.generation);
  if (!cfg.edits.empty() && cfg.edit_rate > 0) d.edits = edit_examples(cfg.edits);
  if (d.vision.empty()) throw Error("training data has no examples");
  return d;
}

// The init (or checkpoint) model changed as the config asks: a new SeTok under its projector and
// language model, and token geometry or appearance on a model trained without them (zero-initialised
// layers, so training starts from the init model's answers).
void adapt_start_model(mllm::Setokim& model, const MllmTrainConfig& cfg, const std::string& resume_dir) {
  if (resume_dir.empty() && !cfg.setok_model.empty()) {
    try {
      model->replace_setok(tokenizer::load_setok(cfg.setok_model));
    } catch (const std::exception& e) {
      throw Error("setok_model " + cfg.setok_model + " does not fit the SeTokim in " + cfg.init + ": " + e.what());
    }
  }
  if (resume_dir.empty() && cfg.token_geometry && !model->config().token_geometry) model->add_token_geometry();
  const std::string from = resume_dir.empty() ? "the init model " + cfg.init : "the checkpoint " + resume_dir;
  const int have = model->config().token_appearance;
  if (cfg.token_appearance > 0 && !model->config().token_geometry)
    throw Error("token_appearance needs token geometry, which " + from + " has not: set token_geometry=true");
  if (resume_dir.empty() && cfg.token_appearance > 0 && have == 0) model->add_token_appearance(cfg.token_appearance);
  if (cfg.token_appearance > 0 && have != cfg.token_appearance && (have > 0 || !resume_dir.empty()))
    throw Error(from + " reads " + (have ? std::to_string(have) + " × " + std::to_string(have) : "no") +
                " appearance maps, the config asks for " + std::to_string(cfg.token_appearance) + " × " +
                std::to_string(cfg.token_appearance));
}

// A SeTokim from nothing: the tokenizer (the config's, or one trained on the data), a language model
// of text_config drawn from the seed, and setok_model's SeTok.
mllm::Setokim new_model(const MllmTrainConfig& cfg, const MllmData& d, fs::path& tok_path) {
  tok_path = cfg.tokenizer;
  if (tok_path.empty()) {
    tok_path = fs::path(cfg.out) / "tokenizer.model";
    llm::TextTokenizer::train(all_text(d.vision, d.text), (fs::path(cfg.out) / "tokenizer").string(),
                              cfg.tokenizer_vocab);
  }
  llm::TextTokenizer probe = llm::TextTokenizer::load(tok_path.string());
  nlohmann::json tc = cfg.text_config;
  tc["model_type"] = "llama";
  tc["vocab_size"] = probe.vocab_size();
  tc["bos_token_id"] = probe.bos_id();
  tc["eos_token_id"] = probe.eos_id();
  mllm::SetokimConfig sc;
  sc.text = llm::LlamaConfig::from_json(tc);
  tokenizer::SetokModel setok = tokenizer::load_setok(cfg.setok_model);
  sc.vision = setok->config();
  sc.connector = mllm::parse_connector(cfg.connector);
  sc.fixed_k = cfg.fixed_k;
  sc.token_geometry = cfg.token_geometry;
  sc.token_appearance = cfg.token_appearance;
  at::manual_seed(cfg.seed);
  mllm::Setokim model(sc);
  nn::load_state_dict(*model->setok, nn::state_dict(*setok));
  return model;
}

// LoRA adapters on the language model when the config asks (restored from a checkpoint).
io::TensorMap add_adapters(mllm::Setokim& model, const MllmTrainConfig& cfg, const std::string& resume_dir) {
  if (cfg.lora.is_null() || cfg.lora.empty()) return {};
  llm::LoraOptions lo = llm::LoraOptions::from_json(cfg.lora);
  if (!cfg.lora.contains("seed")) lo.seed = cfg.seed;
  io::TensorMap adapters = llm::add_lora(model->language_model, lo);
  if (!resume_dir.empty()) {
    const fs::path saved = fs::path(resume_dir) / "lora.safetensors";
    if (!fs::exists(saved)) throw Error(saved.string() + ": missing (the checkpoint was not written with LoRA)");
    llm::load_lora(model->language_model, io::load_safetensors(saved.string()));
  }
  return adapters;
}

struct MllmOptimiser {
  std::unique_ptr<torch::optim::AdamW> opt;
  std::vector<double> group_scale;
  std::vector<at::Tensor> params, geometry_params;  // params: the clipped ones
  std::vector<at::Tensor> head_params;              // the diffusion head's, clipped on their own
};

// Parameter groups: everything, the token-geometry and -appearance layers at geometry_lr_scale × the
// rate (a layer added at zero to a trained model must grow to the size of its neighbours' signal),
// and the diffusion head at diffusion_lr_scale × (a new head beside a language model that is only
// fine-tuned).
MllmOptimiser make_optimiser(mllm::Setokim& model, const heads::DiffusionHead& head, const io::TensorMap& adapters,
                             const MllmTrainConfig& cfg, const std::string& resume_dir) {
  MllmOptimiser o;
  if (head) o.head_params = head->parameters();
  for (auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const bool added = item.key().rfind("multi_modal_projector.geometry.", 0) == 0 ||
                       item.key().rfind("multi_modal_projector.appearance.", 0) == 0;
    (added ? o.geometry_params : o.params).push_back(item.value());
  }
  for (auto& [name, t] : adapters) o.params.push_back(t);
  if (o.params.empty() && o.geometry_params.empty()) throw Error("every module is frozen: nothing to train");
  const auto adamw = torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay).betas({0.9, 0.95});
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (auto [ps, scale] : {std::pair{&o.params, 1.0}, std::pair{&o.geometry_params, cfg.geometry_lr_scale},
                           std::pair{&o.head_params, cfg.diffusion_lr_scale}}) {
    if (ps->empty()) continue;
    groups.emplace_back(*ps, std::make_unique<torch::optim::AdamWOptions>(adamw));
    o.group_scale.push_back(scale);
  }
  o.opt = std::make_unique<torch::optim::AdamW>(std::move(groups), adamw);
  if (!resume_dir.empty() && fs::exists(fs::path(resume_dir) / "optimizer.pt")) {
    torch::serialize::InputArchive ar;
    ar.load_from((fs::path(resume_dir) / "optimizer.pt").string());
    o.opt->load(ar);
  }
  return o;
}

// Visual tokens before the projector, per image, cached when the vision side is frozen; when it
// learns, the decoded pixels are cached instead, up to 2 GiB (the scenes world's 6000 training
// images at 128 px take 1.2 GiB); images past that are decoded each time.
class VisualSource {
 public:
  VisualSource(mllm::Setokim model, bool frozen, const at::Device& device)
      : model_(std::move(model)), frozen_(frozen), device_(device) {}
  bool frozen() const { return frozen_; }

  at::Tensor pixels(const std::string& path) {
    auto it = pixels_.find(path);
    if (it != pixels_.end()) return it->second;
    at::Tensor px = model_->setok->preprocess(io::load_image(path));
    const std::int64_t bytes = px.numel() * static_cast<std::int64_t>(px.element_size());
    if (!frozen_ && pixel_bytes_ + bytes <= kPixelCacheLimit) {
      pixels_[path] = px;
      pixel_bytes_ += bytes;
    }
    return px;
  }

  mllm::VisualTokens cached(const std::string& path) {
    auto it = tokens_.find(path);
    if (it != tokens_.end()) return it->second;
    at::NoGradGuard ng;
    mllm::VisualTokens v = model_->visual_tokens(pixels(path).to(device_));
    tokens_[path] = v;
    return v;
  }

 private:
  static constexpr std::int64_t kPixelCacheLimit = std::int64_t{2} << 30;
  mllm::Setokim model_;
  bool frozen_;
  at::Device device_;
  std::map<std::string, at::Tensor> pixels_;
  std::int64_t pixel_bytes_ = 0;
  std::map<std::string, mllm::VisualTokens> tokens_;
};

// One example as the language model reads it: input embeddings [T, D] and next-token targets
// (-100: no target), cut at max_length.
struct Sequence {
  at::Tensor embeds, labels;
  std::int64_t visual = 0;  // visual tokens in it
  GenerationTarget gen;     // a generation example's answer tokens
};

// Drawn only when an option is on, so configs without it keep their random stream: the user turn's
// suffix dropped (drop_suffix_rate), the question reworded (question_rewrite_rate).
std::vector<mllm::ChatMessage> varied_chat(const Example& ex, const MllmTrainConfig& cfg, std::mt19937_64& rng,
                                           std::uniform_real_distribution<double>& u) {
  if (ex.referring) {
    std::vector<mllm::ChatMessage> chat = ex.chat;
    chat[0].text = mllm::referring_request(ex.chat[0].text, rng() % mllm::referring_wordings().size());
    return chat;
  }
  if (ex.edit) {
    std::vector<mllm::ChatMessage> chat = ex.chat;
    chat[0].text = u(rng) < cfg.generation_null_rate ? mllm::null_edit_request() : mllm::edit_request(ex.chat[0].text);
    return chat;
  }
  if (ex.generate) {
    std::vector<mllm::ChatMessage> chat = ex.chat;
    chat[0].text =
        u(rng) < cfg.generation_null_rate ? mllm::null_generation_request() : mllm::generation_request(ex.chat[0].text);
    return chat;
  }
  const bool drop =
      !ex.text_only && !cfg.drop_suffix.empty() && cfg.drop_suffix_rate > 0 && u(rng) < cfg.drop_suffix_rate;
  std::vector<mllm::ChatMessage> chat = drop ? mllm::without_user_suffix(ex.chat, cfg.drop_suffix) : ex.chat;
  if (!ex.text_only && !cfg.question_rewrites.empty() && cfg.question_rewrite_rate > 0 &&
      u(rng) < cfg.question_rewrite_rate)
    chat = mllm::rewrite_user_text(std::move(chat), cfg.question_rewrites,
                                   [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); });
  return chat;
}

// Targets in sequence space: visual tokens never are; text-only examples learn every token.
Sequence to_sequence(mllm::Setokim& model, const llm::TextTokenizer& tok, const Example& ex,
                     const std::vector<mllm::ChatMessage>& chat, const std::vector<mllm::VisualTokens>& imgs,
                     std::int64_t max_length) {
  mllm::EncodedChat enc = mllm::encode_chat(tok, chat, false);
  const auto markers = std::count(enc.ids.begin(), enc.ids.end(), tok.img_begin_id());  // the answer's too
  if (static_cast<std::size_t>(markers) != imgs.size())
    throw Error("an example has " + std::to_string(markers) + " [Img] markers and " + std::to_string(imgs.size()) +
                " images");
  std::vector<mllm::ImageSpan> spans;
  at::Tensor emb = model->embed_sequence(enc.ids, tok.img_begin_id(), tok.img_end_id(), imgs, &spans)[0];  // [T, D]
  Sequence s;
  if (ex.generate || ex.edit) s.gen.start = spans.back().start;
  std::vector<std::int64_t> lab;
  std::size_t img = 0;
  for (std::size_t i = 0; i < enc.ids.size(); ++i) {
    if (enc.ids[i] == tok.img_end_id()) {
      lab.insert(lab.end(), static_cast<std::size_t>(imgs[img].count()), -100);
      s.visual += imgs[img].count();
      ++img;
    }
    const bool target = ex.text_only ? i > 0 : enc.loss[i] != 0;
    lab.push_back(target ? enc.ids[i] : -100);
  }
  const std::int64_t T = std::min<std::int64_t>(emb.size(0), max_length);
  s.embeds = emb.narrow(0, 0, T);
  s.labels = at::tensor(std::vector<std::int64_t>(lab.begin(), lab.begin() + T), at::kLong);
  return s;
}

// A batch padded to its longest sequence: inputs [B, T, D], targets [B, T] (on the device) and
// the valid positions [B, T].
struct MllmBatch {
  at::Tensor x, y, valid;
  std::int64_t length = 0, visual = 0;
  GenerationBatch gen;
};

MllmBatch pad_batch(const std::vector<Sequence>& seqs, std::int64_t D, const at::Device& device) {
  MllmBatch b;
  const std::int64_t n = static_cast<std::int64_t>(seqs.size());
  for (const auto& s : seqs) {
    b.length = std::max<std::int64_t>(b.length, s.embeds.size(0));
    b.visual += s.visual;
  }
  at::Tensor y = at::full({n, b.length}, -100, at::kLong);
  b.valid = at::zeros({n, b.length}, at::kBool);
  std::vector<at::Tensor> rows;
  for (std::int64_t i = 0; i < n; ++i) {
    const at::Tensor& e = seqs[static_cast<std::size_t>(i)].embeds;
    const std::int64_t T = e.size(0);
    rows.push_back(at::cat({e, at::zeros({b.length - T, D}, e.options())}, 0));
    y[i].narrow(0, 0, T).copy_(seqs[static_cast<std::size_t>(i)].labels);
    b.valid[i].narrow(0, 0, T).fill_(true);
  }
  b.x = at::stack(rows);
  b.y = y.to(device);
  std::vector<GenerationTarget> gen;
  for (const auto& s : seqs) gen.push_back(s.gen);
  b.gen = generation_batch(gen, b.length, device);
  return b;
}

// Step `step`'s batch: its examples drawn first (the same draws in the same order as one at a
// time), so that a vision side that learns sees all the batch's images in one pass.
MllmBatch make_batch(std::int64_t step, const MllmTrainConfig& cfg, const MllmData& d, mllm::Setokim& model,
                     const llm::TextTokenizer& tok, VisualSource& source, const at::Device& device) {
  std::mt19937_64 rng(cfg.seed * 1000003ULL + static_cast<std::uint64_t>(step));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // Several ranks: the batch a single process at batch_size × ranks would draw, this rank's share.
  const std::int64_t ranks = dist::world_size(), first = dist::world_rank() * cfg.batch_size;
  std::vector<const Example*> all, batch;
  for (std::int64_t b = 0; b < cfg.batch_size * ranks; ++b) {
    const bool text = !d.text.empty() && u(rng) < cfg.language_ratio;
    const bool refer = !text && !d.referring.empty() && u(rng) < cfg.referring_rate;
    const bool gen = !text && !refer && !d.generation.empty() && u(rng) < cfg.generation_rate;
    const bool edit = !text && !refer && !gen && !d.edits.empty() && u(rng) < cfg.edit_rate;
    const auto& pool = text ? d.text : refer ? d.referring : gen ? d.generation : edit ? d.edits : d.vision;
    all.push_back(&pool[rng() % pool.size()]);
  }
  batch.assign(all.begin() + first, all.begin() + first + cfg.batch_size);
  std::vector<mllm::VisualTokens> learned;  // when the vision side learns: the batch's images in order
  std::size_t next_learned = 0;
  if (!source.frozen()) {
    std::vector<at::Tensor> px;
    for (const Example* ex : batch)
      for (const auto& path : ex->images) px.push_back(source.pixels(path));
    if (!px.empty()) learned = model->visual_tokens_batch(at::cat(px, 0).to(device));
  }
  std::vector<Sequence> seqs;
  for (std::int64_t k = 0; k < first; ++k) varied_chat(*all[k], cfg, rng, u);  // the draws before this share
  for (const Example* ex : batch) {
    std::vector<mllm::ChatMessage> chat = varied_chat(*ex, cfg, rng, u);
    std::vector<mllm::VisualTokens> raws;
    for (const auto& path : ex->images) raws.push_back(source.frozen() ? source.cached(path) : learned[next_learned++]);
    std::vector<mllm::VisualTokens> imgs;
    at::Tensor answer;  // a generation or edit example's target tokens
    if (ex->generate) {
      raws[0] = in_generation_order(raws[0]);
      answer = packed_tokens(raws[0]).detach();
    } else if (ex->edit) {
      raws[0] = in_generation_order(raws[0]);
      const mllm::VisualTokens out = in_generation_order(raws[1]);
      const EditPlan plan =
          plan_edit(raws[0], out, changed_pixels(source.pixels(ex->images[0]), source.pixels(ex->images[1])),
                    cfg.edit_change_share);
      chat[1].text = mllm::edit_answer(plan.status);
      raws[1] = mllm::select_tokens(out, plan.written.to(out.embeds.device()));
      answer = packed_tokens(raws[1]).detach();
    }
    for (const auto& raw : raws) imgs.push_back(model->project(raw));
    seqs.push_back(to_sequence(model, tok, *ex, chat, imgs, cfg.max_length));
    seqs.back().gen.tokens = answer;
  }
  return pad_batch(seqs, model->config().text.hidden_size, device);
}

// Next-token cross-entropy over the targets. The projector and the embeddings stay f32 (they are
// small); the language model's matmuls run in bf16 (CUDA: mixed_precision, CPU: cpu_bf16), and the
// loss casts the logits back to f32.
// The step's losses: the text's, and with generation examples in the batch L_vis and the stop loss
// (core/train/generation_task.h), weighted into `total`.
struct StepLoss {
  at::Tensor total, text, vis, stop;
  std::int64_t target_tokens = 0;
};

StepLoss step_loss(mllm::Setokim& model, heads::DiffusionHeadImpl* head, const MllmBatch& b, const MllmTrainConfig& cfg,
                   const at::Device& device, std::int64_t img_end, std::int64_t step) {
  StepLoss l;
  at::Tensor logits, h;
  {
    AutocastScope amp(device.type(), device.is_cuda() ? cfg.mixed_precision : cfg.cpu_bf16);
    h = model->language_model->hidden(b.x, nullptr, b.valid.to(device));
    logits = model->language_model->logits(h.narrow(1, 0, b.length - 1));
  }
  at::Tensor tgt = b.y.narrow(1, 1, b.length - 1);
  l.target_tokens = (tgt != -100).sum().item<std::int64_t>();
  // Several ranks: this rank's share of the mean over all ranks' target tokens.
  const double share = dist::share_of_items(l.target_tokens);
  l.text = l.target_tokens > 0 ? share * at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}).to(at::kFloat),
                                                                tgt.reshape({-1}), {}, at::Reduction::Mean, -100)
                               : logits.sum() * 0.0;
  l.total = l.text;
  if (head && !b.gen.empty()) {
    // The diffusion noise of step n is drawn from (seed, n), so a resumed run draws what it would have.
    const at::Generator noise =
        at::detail::createCPUGenerator(cfg.seed * 1000003ULL + static_cast<std::uint64_t>(step));
    GenerationLosses g = generation_losses(*model->language_model, *head, h.to(at::kFloat), b.gen, img_end,
                                           cfg.diffusion_repeats, noise);
    l.vis = g.vis;
    l.stop = g.stop;
    l.total = l.total + cfg.diffusion_weight * g.vis + cfg.stop_weight * g.stop;
  }
  return l;
}

// The model to train and its tokenizer file: the init or checkpoint folder's (adapted to the
// config), or a new one; the step the run starts at.
struct MllmStart {
  mllm::Setokim model{nullptr};
  heads::DiffusionHead head{nullptr};  // with generation
  fs::path tok_path;
  std::int64_t step = 0;
};

MllmStart start_model(const MllmTrainConfig& cfg, const std::string& resume_dir, const MllmData& d) {
  MllmStart s;
  const std::string start = !resume_dir.empty() ? resume_dir : cfg.init;
  if (start.empty()) {
    s.model = new_model(cfg, d, s.tok_path);
    return s;
  }
  s.model = mllm::load_setokim(start);
  s.tok_path = fs::path(start) / "tokenizer.model";
  if (!resume_dir.empty())
    s.step = io::read_json_file((fs::path(resume_dir) / "trainer_state.json").string()).at("step").get<std::int64_t>();
  adapt_start_model(s.model, cfg, resume_dir);
  return s;
}

// What the edit plans of the first 64 triplets say (core/train/edit_task.h): how many input tokens
// are kept, changed and removed, and how many are written. A check on the data, in the start event.
nlohmann::json edit_plan_summary(const MllmTrainConfig& cfg, const MllmData& d, VisualSource& source) {
  if (!source.frozen()) return nullptr;  // the tokens change as the vision side learns
  std::int64_t n[mllm::kTokenEdits] = {0, 0, 0}, written = 0, edits = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(64, d.edits.size()); ++i, ++edits) {
    const Example& e = d.edits[i];
    const EditPlan p =
        plan_edit(in_generation_order(source.cached(e.images[0])), in_generation_order(source.cached(e.images[1])),
                  changed_pixels(source.pixels(e.images[0]), source.pixels(e.images[1])), cfg.edit_change_share);
    for (mllm::TokenEdit t : p.status) ++n[static_cast<int>(t)];
    written += p.written.numel();
  }
  return {{"edits", edits}, {"keep", n[0]}, {"change", n[1]}, {"remove", n[2]}, {"written", written}};
}

void emit_start(ProgressWriter& progress, const MllmTrainConfig& cfg, const MllmStart& s, const MllmData& d,
                const MllmOptimiser& o, bool resumed, VisualSource& source) {
  std::int64_t n_params = 0, trainable = 0;
  for (auto& p : s.model->parameters()) n_params += p.numel();
  for (const auto* group : {&o.params, &o.geometry_params})
    for (auto& p : *group) trainable += p.numel();
  std::int64_t head_params = 0;
  if (s.head)
    for (auto& p : s.head->parameters()) head_params += p.numel();
  progress.emit({{"event", "start"},
                 {"step", s.step},
                 {"total_steps", cfg.steps},
                 {"stage", cfg.stage},
                 {"examples", d.vision.size()},
                 {"text_examples", d.text.size()},
                 {"referring_examples", d.referring.size()},
                 {"generation_examples", d.generation.size()},
                 {"edit_examples", d.edits.size()},
                 {"edit_plans", d.edits.empty() ? nlohmann::json() : edit_plan_summary(cfg, d, source)},
                 {"diffusion_head_parameters", head_params},
                 {"parameters", n_params},
                 {"trainable", trainable},
                 {"device", cfg.device},
                 {"resumed", resumed}});
}

// The final model: LoRA merged into the weights (a plain SeTokim), marked trained.
TrainSummary finish(MllmStart& s, const MllmTrainConfig& cfg, std::int64_t first,
                    std::chrono::steady_clock::time_point t0, ProgressWriter& progress) {
  const fs::path model_dir = fs::path(cfg.out) / "model";
  if (!dist::is_writer()) {
    TrainSummary sum;
    sum.steps_done = s.step - first;
    sum.model_dir = model_dir.string();
    return sum;
  }
  llm::merge_lora(s.model->language_model);
  s.model->set_trained(true);
  if (s.head) s.head->set_trained(true);
  save_dir(model_dir, s.model, s.head ? s.head.get() : nullptr, s.tok_path, nullptr, {});
  TrainSummary sum;
  sum.steps_done = s.step - first;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.model_dir = model_dir.string();
  progress.emit({{"event", "done"},
                 {"step", s.step},
                 {"seconds", sum.seconds},
                 {"model", sum.model_dir},
                 {"peak_memory_mb", peak_resident_bytes() / 1048576.0}});
  return sum;
}

// The diffusion head: the checkpoint's or the init's when it has one, else a new one whose token
// normalisation is fitted on the answers of up to 512 generation examples (or edited images).
heads::DiffusionHead start_head(MllmStart& s, const MllmTrainConfig& cfg, const std::string& resume_dir,
                                const MllmData& d, VisualSource& source, const at::Device& device) {
  const std::string from = !resume_dir.empty() ? resume_dir : cfg.init;
  heads::DiffusionHead head{nullptr};
  if (!from.empty() && heads::has_diffusion_head(from)) {
    head = heads::load_diffusion_head(from);
  } else {
    heads::DiffusionHeadConfig hc;
    nlohmann::json j = hc.to_json();
    reject_unknown_keys(cfg.diffusion_head, j);
    j.update(cfg.diffusion_head);
    const int n = s.model->config().token_appearance;
    j["token_dim"] = s.model->setok->config().merger.dim_out() + mllm::kGeometryDims + n * n;
    j["condition_dim"] = s.model->config().text.hidden_size;
    at::manual_seed(cfg.seed);  // the new head's weights depend on the seed alone
    head = heads::DiffusionHead(heads::DiffusionHeadConfig::from_json(j));
    std::vector<at::Tensor> rows;
    at::NoGradGuard ng;
    const bool gen = !d.generation.empty();
    for (std::size_t i = 0; i < std::min<std::size_t>(512, gen ? d.generation.size() : d.edits.size()); ++i) {
      const std::string& path = gen ? d.generation[i].images[0] : d.edits[i].images[1];
      rows.push_back(
          packed_tokens(source.frozen() ? source.cached(path) : s.model->visual_tokens(source.pixels(path).to(device)))
              .cpu());
    }
    head->fit_normalisation(at::cat(rows, 0));
  }
  if (head->config().condition_dim != s.model->config().text.hidden_size)
    throw Error("the diffusion head reads states of another width than the language model's");
  head->to(device);
  head->train();
  return head;
}

}  // namespace

TrainSummary train_mllm(const MllmTrainConfig& cfg, const std::string& resume_dir, ProgressWriter& progress) {
  const at::Device device(cfg.device);
  if (device.is_cuda() && !at::hasCUDA()) throw Error("device " + cfg.device + ": this LibTorch has no CUDA");
  const MllmData data = read_examples(cfg);
  fs::create_directories(cfg.out);
  const fs::path ckpt_dir = fs::path(cfg.out) / "checkpoint";
  MllmStart s = start_model(cfg, resume_dir, data);
  llm::TextTokenizer tok = llm::TextTokenizer::load(s.tok_path.string());
  if (tok.vocab_size() > s.model->config().text.vocab_size)
    throw Error("tokenizer has " + std::to_string(tok.vocab_size()) + " ids but the language model only " +
                std::to_string(s.model->config().text.vocab_size));
  if (!data.referring.empty() && !tok.has_seg_token(s.model->config().text.vocab_size))
    s.model->grow_vocabulary(tok.seg_id() + 1);
  if (data.writes_images() && !tok.has_null_token(s.model->config().text.vocab_size))
    s.model->grow_vocabulary(tok.null_id() + 1);
  s.model->to(device);
  s.model->train();
  s.model->setok->eval();  // its clustering is the same in both modes; no dropout anywhere
  s.model->language_model->checkpointing = cfg.checkpointing;
  s.model->setok->encoder->checkpointing = cfg.checkpointing;  // when it trains (in eval mode it never recomputes)
  set_frozen(s.model, cfg.freeze);
  const io::TensorMap adapters = add_adapters(s.model, cfg, resume_dir);
  VisualSource source(s.model, std::find(cfg.freeze.begin(), cfg.freeze.end(), "setok") != cfg.freeze.end(), device);
  if (data.writes_images() && !s.model->config().token_geometry)
    throw Error(
        "generation needs token geometry (set token_geometry=true): a written token carries its region "
        "descriptor");
  if (data.writes_images()) s.head = start_head(s, cfg, resume_dir, data, source, device);
  MllmOptimiser o = make_optimiser(s.model, s.head, adapters, cfg, resume_dir);
  const std::unique_ptr<dist::GradientSync> sync = dist::data_parallel(*o.opt);
  emit_start(progress, cfg, s, data, o, !resume_dir.empty(), source);
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t first = s.step;
  auto t_window = t0;
  std::int64_t window_tokens = 0;
  while (s.step < cfg.steps) {
    const MllmBatch b = make_batch(s.step, cfg, data, s.model, tok, source, device);
    const StepLoss sl = step_loss(s.model, s.head ? s.head.get() : nullptr, b, cfg, device, tok.img_end_id(), s.step);
    const at::Tensor& loss = sl.total;
    const std::int64_t target_tokens = sl.target_tokens;
    const double lr = warmup_cosine_lr(s.step, cfg.lr, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio);
    for (std::size_t i = 0; i < o.opt->param_groups().size(); ++i)
      static_cast<torch::optim::AdamWOptions&>(o.opt->param_groups()[i].options()).lr(lr * o.group_scale[i]);
    const dist::StepAgreement agreed = dist::agree_on_step(s.step, loss.item<double>(), take_pause_request());
    const double loss_v = agreed.loss;  // the mean over the ranks
    stop_if_not_finite(loss_v, "loss", s.step, ckpt_dir.string(), progress);
    o.opt->zero_grad();
    if (sync) sync->begin();
    loss.backward();
    if (sync) sync->finish();
    const double gnorm = torch::nn::utils::clip_grad_norm_(o.params, cfg.clip_grad_norm);
    if (!o.head_params.empty()) torch::nn::utils::clip_grad_norm_(o.head_params, cfg.clip_grad_norm);
    stop_if_not_finite(gnorm, "gradient", s.step, ckpt_dir.string(), progress);
    o.opt->step();
    ++s.step;
    window_tokens += cfg.batch_size * b.length * dist::world_size();  // every rank's
    if (s.step % cfg.log_every == 0 || s.step == cfg.steps) {
      auto now = std::chrono::steady_clock::now();
      const double win = std::chrono::duration<double>(now - t_window).count();
      const double elapsed = std::chrono::duration<double>(now - t0).count();
      progress.emit({{"event", "step"},
                     {"step", s.step},
                     {"total_steps", cfg.steps},
                     {"loss", loss_v},
                     {"target_tokens", target_tokens},
                     {"loss_text", sl.text.item<double>()},
                     {"loss_vis", sl.vis.defined() ? sl.vis.item<double>() : 0.0},
                     {"loss_stop", sl.stop.defined() ? sl.stop.item<double>() : 0.0},
                     {"visual_tokens_per_sample", static_cast<double>(b.visual) / cfg.batch_size},
                     {"grad_norm", gnorm},
                     {"lr", lr},
                     {"tokens_per_s", window_tokens / std::max(win, 1e-9)},
                     {"memory_mb", resident_bytes() / 1048576.0},
                     {"eta_s", (cfg.steps - s.step) * elapsed / std::max<std::int64_t>(1, s.step - first)}});
      t_window = now;
      window_tokens = 0;
    }
    const bool pause = s.step < cfg.steps && ((cfg.stop_at > 0 && s.step >= cfg.stop_at) || agreed.pause);
    const bool save = (cfg.checkpoint_every > 0 && s.step % cfg.checkpoint_every == 0) || s.step == cfg.steps;
    if ((save || pause) && dist::is_writer()) {
      save_dir(ckpt_dir, s.model, s.head ? s.head.get() : nullptr, s.tok_path, o.opt.get(),
               {{"step", s.step}, {"train_config", cfg.to_json()}});
      progress.emit({{"event", "checkpoint"}, {"step", s.step}, {"path", ckpt_dir.string()}});
    }
    if (pause) {
      TrainSummary sum;
      sum.steps_done = s.step - first;
      sum.model_dir = ckpt_dir.string();
      progress.emit({{"event", "paused"}, {"step", s.step}, {"checkpoint", ckpt_dir.string()}});
      return sum;
    }
  }
  return finish(s, cfg, first, t0, progress);
}

}  // namespace setok::train
