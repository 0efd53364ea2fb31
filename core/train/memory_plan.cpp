#include "core/train/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "core/io/checkpoint.h"
#include "core/llm/lora.h"
#include "core/runtime/error.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/setok_model.h"

namespace fs = std::filesystem;

namespace setok::train {

std::int64_t llama_layer_parameters(const llm::LlamaConfig& c) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, d = c.head_width();
  const std::int64_t q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  std::int64_t n = H * q + 2 * H * kv + q * H + 3 * H * I + 2 * H;
  if (c.attention_bias) n += q + 2 * kv + H;
  if (c.mlp_bias) n += 2 * I + H;
  return n;
}

std::int64_t llama_parameters(const llm::LlamaConfig& c) {
  const std::int64_t embed = c.vocab_size * c.hidden_size;
  return embed + c.num_hidden_layers * llama_layer_parameters(c) + c.hidden_size + (c.tie_word_embeddings ? 0 : embed);
}

std::int64_t siglip_layer_parameters(const vision::SiglipVisionConfig& c) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size;
  return 4 * (H * H + H) + 4 * H + (H * I + I) + (I * H + H);
}

// Kept for backward by one decoder layer: the two norms' inputs and outputs, q, k, v (and the
// rotated q, k), the softmax's output (heads × T²), the attention's output, and the MLP's gate, up,
// activated gate and product.
double llama_layer_activations(const llm::LlamaConfig& c, std::int64_t batch, std::int64_t tokens) {
  const double bt = static_cast<double>(batch) * tokens, H = c.hidden_size, I = c.intermediate_size;
  const double q = static_cast<double>(c.num_attention_heads) * c.head_width();
  const double kv = static_cast<double>(c.num_key_value_heads) * c.head_width();
  return bt * (4 * H + 2 * q + 4 * kv + q + 4 * I) +
         static_cast<double>(batch) * c.num_attention_heads * static_cast<double>(tokens) * tokens;
}

// One encoder layer: the two layer norms' inputs and outputs, q, k, v, the softmax's output, the
// attention's output, the MLP's first layer and its GELU.
double siglip_layer_activations(const vision::SiglipVisionConfig& c, std::int64_t batch) {
  const double n = static_cast<double>(c.num_patches()), H = c.hidden_size, I = c.intermediate_size;
  return batch * (n * (8 * H + 2 * I) + c.num_attention_heads * n * n);
}

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string gib(double b) {
  char s[32];
  std::snprintf(s, sizeof(s), "%.2f GiB", b / kGiB);
  return s;
}
std::string count(double n) {
  char s[32];
  if (n >= 1e9) std::snprintf(s, sizeof(s), "%.2f B", n / 1e9);
  else std::snprintf(s, sizeof(s), "%.1f M", n / 1e6);
  return s;
}

double activation_bytes(const std::string& dtype) {
  if (dtype == "f32") return 4;
  if (dtype == "bf16" || dtype == "f16") return 2;
  throw Error("--dtype " + dtype + ": expected f32, bf16 or f16");
}

// The device's memory in bytes (0: unknown here) and its name.
std::pair<double, std::string> device_memory(const std::string& device) {
  if (device == "cpu")
    return {static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)),
            "cpu (this machine's memory)"};
  if (device.rfind("cuda", 0) != 0) throw Error("--device " + device + ": expected cpu, cuda or cuda:N");
  const CudaInfo cuda = cuda_info();
  const std::size_t index = device.size() > 5 ? std::stoul(device.substr(5)) : 0;
  if (!cuda.torch_cuda || index >= cuda.devices.size()) return {0.0, device + " (not on this machine)"};
  std::smatch m;
  const std::string& name = cuda.devices[index];
  if (std::regex_search(name, m, std::regex("\\(([0-9.]+) GiB"))) return {std::stod(m[1]) * kGiB, name};
  return {0.0, name};
}

// The training part common to both kinds: f32 weights, gradients, AdamW, buckets.
void optimiser_lines(MemoryPlan& p, const PlanOptions& o) {
  p.lines.push_back({"weights (f32 master copy)", 4.0 * p.parameters, count(p.parameters) + " parameters × 4 bytes"});
  p.lines.push_back({"gradients (f32)", 4.0 * p.trainable, count(p.trainable) + " trained parameters × 4 bytes"});
  p.lines.push_back({"AdamW moments (f32)", 8.0 * p.trainable, "2 × 4 bytes a trained parameter"});
  if (o.world_size > 1)
    p.lines.push_back({"gradient buckets (data parallel)", 4.0 * p.trainable, "one flat copy of the gradients"});
}

// Transformer blocks' activations: all kept, or with checkpointing each block's input and one block.
PlanLine blocks_line(const std::string& what, double per_block, double input, std::int64_t blocks, bool ckpt,
                     double bytes) {
  if (!ckpt)
    return {what, per_block * blocks * bytes, std::to_string(blocks) + " blocks × " + count(per_block) + " numbers"};
  return {what + ", checkpointed", (input * blocks + per_block) * bytes,
          std::to_string(blocks) + " block inputs + one block's " + count(per_block) + " numbers"};
}

tokenizer::SetokConfig setok_config_of(const nlohmann::json& model) { return tokenizer::SetokConfig::from_json(model); }

// Parameters of a SeTok: its encoder layers counted, the rest built once with one encoder layer.
std::int64_t setok_parameters(tokenizer::SetokConfig c) {
  const std::int64_t layers = c.vision.num_hidden_layers, layer = siglip_layer_parameters(c.vision);
  c.vision.num_hidden_layers = 1;
  tokenizer::SetokModel m(c);
  std::int64_t n = 0;
  for (const auto& t : m->parameters()) n += t.numel();
  return n - layer + layers * layer;
}

MemoryPlan plan_setok(const nlohmann::json& cfg, const PlanOptions& o, bool ckpt, double bytes) {
  MemoryPlan p;
  p.kind = "setok";
  const std::string init = cfg.value("init", "");
  const tokenizer::SetokConfig sc = !init.empty() && !cfg.contains("model")
                                        ? setok_config_of(io::read_json_file((fs::path(init) / "config.json").string()))
                                        : setok_config_of(cfg.value("model", nlohmann::json::object()));
  const std::int64_t batch = cfg.value("batch_size", 32);
  p.parameters = p.trainable = setok_parameters(sc);
  optimiser_lines(p, o);
  const auto& v = sc.vision;
  p.lines.push_back(blocks_line("activations: vision encoder", siglip_layer_activations(v, batch),
                                static_cast<double>(batch) * v.num_patches() * v.hidden_size, v.num_hidden_layers, ckpt,
                                bytes));
  p.not_counted = {"the text encoder (built from the data's labels)",
                   "the activations of the merger, the clustering and the detokenizer with its pixel decoder"};
  return p;
}

}  // namespace

namespace {

nlohmann::json read_json(const std::string& path) { return io::read_json_file(path); }

// The SeTokim config's parts: its language model and the SeTok it reads.
struct SetokimParts {
  llm::LlamaConfig text;
  tokenizer::SetokConfig setok;
};

SetokimParts setokim_parts(const nlohmann::json& cfg, const PlanOptions& o) {
  SetokimParts s;
  const std::string init = cfg.value("init", ""), setok_dir = cfg.value("setok_model", "");
  if (!init.empty()) {
    const nlohmann::json m = read_json((fs::path(init) / "config.json").string());
    s.text = llm::LlamaConfig::from_json(m.at("text_config"));
    s.setok = setok_config_of(m.at("setok_config"));
  } else {
    nlohmann::json t = cfg.value("text_config", nlohmann::json::object());
    if (!t.contains("vocab_size")) t["vocab_size"] = cfg.value("tokenizer_vocab", 1000);
    s.text = llm::LlamaConfig::from_json(t);
  }
  if (!o.setok_config.empty()) s.setok = setok_config_of(read_json(o.setok_config).at("model"));
  else if (!setok_dir.empty() && fs::exists(fs::path(setok_dir) / "config.json"))
    s.setok = setok_config_of(read_json((fs::path(setok_dir) / "config.json").string()));
  else if (init.empty())
    throw Error("the SeTok this config reads (" + setok_dir +
                ") is not there yet: give its training config with --setok-config FILE");
  return s;
}

std::int64_t lora_parameters(const llm::LlamaConfig& c, const llm::LoraOptions& lo) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, q = c.num_attention_heads * c.head_width(),
                     kv = c.num_key_value_heads * c.head_width();
  std::int64_t per = 0;
  for (const auto& t : lo.targets) {
    const std::pair<std::int64_t, std::int64_t> io = t == "q_proj"      ? std::make_pair(H, q)
                                                     : t == "k_proj"    ? std::make_pair(H, kv)
                                                     : t == "v_proj"    ? std::make_pair(H, kv)
                                                     : t == "o_proj"    ? std::make_pair(q, H)
                                                     : t == "down_proj" ? std::make_pair(I, H)
                                                                        : std::make_pair(H, I);
    per += lo.rank * (io.first + io.second);
  }
  return c.num_hidden_layers * per;
}

MemoryPlan plan_setokim(const nlohmann::json& cfg, const PlanOptions& o, bool ckpt, double bytes) {
  MemoryPlan p;
  p.kind = "setokim";
  const SetokimParts s = setokim_parts(cfg, o);
  const std::vector<std::string> freeze = cfg.value("freeze", std::vector<std::string>{"setok"});
  auto frozen = [&](const char* n) { return std::find(freeze.begin(), freeze.end(), n) != freeze.end(); };
  const std::int64_t H = s.text.hidden_size, setok_n = setok_parameters(s.setok), llm_n = llama_parameters(s.text);
  const std::int64_t projector = (s.setok.merger.dim_out() + 90) * H + H + H * H + H;  // with token geometry
  llm::LoraOptions lo = llm::LoraOptions::from_json(cfg.value("lora", nlohmann::json::object()));
  const bool lora = o.lora_rank > 0 || (o.lora_rank < 0 && cfg.contains("lora") && !cfg["lora"].empty());
  if (o.lora_rank > 0) lo.rank = o.lora_rank;
  const std::int64_t adapters = lora ? lora_parameters(s.text, lo) : 0;
  p.parameters = setok_n + projector + llm_n + adapters;
  p.trainable = (frozen("setok") ? 0 : setok_n) + (frozen("multi_modal_projector") ? 0 : projector) +
                (lora                       ? adapters
                 : frozen("language_model") ? 0
                                            : llm_n);
  optimiser_lines(p, o);
  const std::int64_t batch = cfg.value("batch_size", 32), T = cfg.value("max_length", 256);
  p.lines.push_back(blocks_line("activations: language model", llama_layer_activations(s.text, batch, T),
                                static_cast<double>(batch) * T * H, s.text.num_hidden_layers, ckpt, bytes));
  const double logits = static_cast<double>(batch) * T * s.text.vocab_size;
  p.lines.push_back(
      {"activations: logits and their loss", logits * (bytes + 4), "batch × tokens × vocabulary, and f32"});
  if (!frozen("setok")) {
    const auto& v = s.setok.vision;
    p.lines.push_back(blocks_line("activations: SeTok's vision encoder", siglip_layer_activations(v, batch),
                                  static_cast<double>(batch) * v.num_patches() * v.hidden_size, v.num_hidden_layers,
                                  ckpt, bytes));
    p.not_counted.push_back("the activations of SeTok's merger and clustering");
  }
  const double kv = 2.0 * s.text.num_hidden_layers * s.text.num_key_value_heads * s.text.head_width() * T * bytes;
  p.lines.push_back(
      {"chat afterwards: KV cache at max_length", kv, "2 × layers × KV heads × head width × tokens", false});
  return p;
}

}  // namespace

double MemoryPlan::total() const {
  double t = 0;
  for (const auto& l : lines)
    if (l.in_total) t += l.bytes;
  return t;
}

nlohmann::json MemoryPlan::to_json() const {
  nlohmann::json j = {{"kind", kind},
                      {"parameters", parameters},
                      {"trainable", trainable},
                      {"device", device},
                      {"available_bytes", available},
                      {"total_bytes", total()},
                      {"fits", available > 0 ? nlohmann::json(fits()) : nlohmann::json(nullptr)},
                      {"not_counted", not_counted}};
  for (const auto& l : lines)
    j["lines"].push_back({{"what", l.what}, {"bytes", l.bytes}, {"how", l.how}, {"in_total", l.in_total}});
  return j;
}

std::string MemoryPlan::table() const {
  std::string out;
  char row[256];
  for (const auto& l : lines) {
    if (!l.in_total) continue;
    std::snprintf(row, sizeof(row), "  %-44s %12s   %s\n", l.what.c_str(), gib(l.bytes).c_str(), l.how.c_str());
    out += row;
  }
  std::snprintf(row, sizeof(row), "  %-44s %12s   on %s: %s\n", "total a device", gib(total()).c_str(), device.c_str(),
                available > 0 ? (gib(available) + (fits() ? ", fits" : ", DOES NOT FIT")).c_str() : "unknown here");
  out += row;
  for (const auto& l : lines) {
    if (l.in_total) continue;
    std::snprintf(row, sizeof(row), "  %-44s %12s   %s\n", l.what.c_str(), gib(l.bytes).c_str(), l.how.c_str());
    out += row;
  }
  for (const auto& n : not_counted) out += "  not counted: " + n + "\n";
  return out;
}

MemoryPlan plan_training(const nlohmann::json& cfg, const PlanOptions& o) {
  if (o.world_size < 1) throw Error("--world-size must be at least 1");
  const double bytes = activation_bytes(o.dtype);
  const bool ckpt = o.checkpointing >= 0 ? o.checkpointing == 1 : cfg.value("checkpointing", false);
  const bool setok = cfg.contains("model") || cfg.contains("train_data");  // SeTokim's have neither
  MemoryPlan p = setok ? plan_setok(cfg, o, ckpt, bytes) : plan_setokim(cfg, o, ckpt, bytes);
  const auto [avail, name] = device_memory(o.device);
  p.available = o.available_bytes >= 0 ? o.available_bytes : avail;
  p.device = name;
  return p;
}

void refuse_if_it_cannot_fit(const nlohmann::json& cfg, const std::string& device) {
  PlanOptions o;
  o.device = device;
  o.dtype = cfg.value(device.rfind("cuda", 0) == 0 ? "mixed_precision" : "cpu_bf16", false) ? "bf16" : "f32";
  MemoryPlan p;
  try {
    p = plan_training(cfg, o);
  } catch (const Error&) {
    return;  // what the plan cannot read, the trainer reports itself
  }
  if (p.fits()) return;
  std::string parts;
  for (const auto& l : p.lines)
    if (l.in_total) parts += (parts.empty() ? "" : ", ") + l.what + " " + gib(l.bytes);
  throw Error("the run needs " + gib(p.total()) + " on " + p.device + ", which has " + gib(p.available) + " (" + parts +
              "); `setok plan --config FILE` shows the plan; checkpointing=true, a smaller batch_size or LoRA "
              "need less");
}

}  // namespace setok::train
