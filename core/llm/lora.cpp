#include "core/llm/lora.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "core/runtime/error.h"

namespace setok::llm {
namespace {

const std::set<std::string> kAttention{"q_proj", "k_proj", "v_proj", "o_proj"};
const std::set<std::string> kMlp{"gate_proj", "up_proj", "down_proj"};

// Calls f(prefix, adapters, name, linear) for every target projection of every layer.
template <class F>
void each_target(LlamaForCausalLM& m, const std::vector<std::string>& targets, F f) {
  const auto& layers = *m->model->layers;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto layer = layers.ptr<LlamaDecoderLayerImpl>(i);
    const std::string base = "model.layers." + std::to_string(i) + ".";
    for (const std::string& t : targets) {
      if (kAttention.count(t)) {
        auto& a = *layer->self_attn;
        torch::nn::Linear& l = t == "q_proj"   ? a.q_proj
                               : t == "k_proj" ? a.k_proj
                               : t == "v_proj" ? a.v_proj
                                               : a.o_proj;
        f(base + "self_attn." + t, a.lora, t, l);
      } else if (kMlp.count(t)) {
        auto& p = *layer->mlp;
        torch::nn::Linear& l = t == "gate_proj" ? p.gate_proj : t == "up_proj" ? p.up_proj : p.down_proj;
        f(base + "mlp." + t, p.lora, t, l);
      } else {
        throw Error("LoRA target '" + t + "' is not a LLaMA projection (q_proj … down_proj)");
      }
    }
  }
}

std::vector<std::string> all_targets() {
  return {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
}

}  // namespace

LoraOptions LoraOptions::from_json(const nlohmann::json& j) {
  LoraOptions o;
  try {
    if (j.contains("rank")) o.rank = j.at("rank").get<std::int64_t>();
    if (j.contains("alpha")) o.alpha = j.at("alpha").get<double>();
    if (j.contains("targets")) o.targets = j.at("targets").get<std::vector<std::string>>();
    if (j.contains("seed")) o.seed = j.at("seed").get<std::uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("lora: ") + e.what());
  }
  if (o.rank < 1 || !(o.alpha > 0) || o.targets.empty())
    throw Error("lora: rank and alpha must be positive and targets non-empty");
  for (const auto& t : o.targets)
    if (!kAttention.count(t) && !kMlp.count(t)) throw Error("lora: target '" + t + "' is not a LLaMA projection");
  return o;
}

nlohmann::json LoraOptions::to_json() const {
  return {{"rank", rank}, {"alpha", alpha}, {"targets", targets}, {"seed", seed}};
}

io::TensorMap add_lora(LlamaForCausalLM& m, const LoraOptions& o) {
  if (!lora_tensors(m).empty()) throw Error("lora: the model already has adapters");
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  io::TensorMap out;
  const double scale = o.alpha / static_cast<double>(o.rank);
  at::Generator gen = at::detail::createCPUGenerator(o.seed);
  each_target(m, o.targets,
              [&](const std::string& prefix, LoraAdapters& lora, const std::string& name, torch::nn::Linear& l) {
                const at::Tensor& w = l->weight;
                const auto opts = at::TensorOptions().dtype(at::kFloat).device(w.device());
                LoraAdapter a;
                // As nn.Linear initialises its weight (Kaiming uniform, a = √5: bound 1/√fan_in), from the
                // options' own generator so a run is reproducible whatever else drew random numbers.
                const double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1)));
                a.A = at::empty({o.rank, w.size(1)}, at::kFloat).uniform_(-bound, bound, gen).to(opts.device());
                a.B = at::zeros({w.size(0), o.rank}, opts);
                a.A.set_requires_grad(true);
                a.B.set_requires_grad(true);
                a.scale = scale;
                out[prefix + ".lora_A.weight"] = a.A;
                out[prefix + ".lora_B.weight"] = a.B;
                lora[name] = a;
              });
  return out;
}

io::TensorMap lora_tensors(LlamaForCausalLM& m) {
  io::TensorMap out;
  each_target(m, all_targets(),
              [&](const std::string& prefix, LoraAdapters& lora, const std::string& name, torch::nn::Linear&) {
                auto it = lora.find(name);
                if (it == lora.end()) return;
                out[prefix + ".lora_A.weight"] = it->second.A;
                out[prefix + ".lora_B.weight"] = it->second.B;
              });
  return out;
}

void load_lora(LlamaForCausalLM& m, const io::TensorMap& tensors) {
  io::TensorMap have = lora_tensors(m);
  if (have.size() != tensors.size())
    throw Error("lora: " + std::to_string(tensors.size()) + " saved adapter tensors for " +
                std::to_string(have.size()) + " in the model (different targets?)");
  at::NoGradGuard g;
  for (auto& [name, t] : have) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error("lora: saved adapters lack '" + name + "'");
    if (it->second.sizes() != t.sizes()) throw Error("lora: '" + name + "' has another shape (another rank?)");
    t.copy_(it->second);
  }
}

void merge_lora(LlamaForCausalLM& m) {
  at::NoGradGuard g;
  each_target(m, all_targets(),
              [&](const std::string&, LoraAdapters& lora, const std::string& name, torch::nn::Linear& l) {
                auto it = lora.find(name);
                if (it == lora.end()) return;
                const LoraAdapter& a = it->second;
                l->weight.add_((at::matmul(a.B, a.A) * a.scale).to(l->weight.scalar_type()));
                lora.erase(it);
              });
}

}  // namespace setok::llm
