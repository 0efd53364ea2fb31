// setok bench llm [--preset tinyllama|small | --config config.json] [--prompt N] [--new N] [--json]
// A LLaMA decoder with random weights (the speed does not depend on their values): time to first
// token (prefill), decode tokens/s with the KV cache at several prompt lengths, and the same decode
// without a cache, to show what the cache saves.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>

#include "app/setok/command.h"
#include "core/io/checkpoint.h"
#include "core/llm/llama_model.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"

namespace setok::cli {

Command add_bench_llm(CLI::App& app, Globals& g) {
  CLI::App* bench = app.get_subcommand("bench");
  auto* sub = bench->add_subcommand("llm", "LLaMA decoder speed: prefill, decode with and without the KV cache");
  struct Args {
    std::string preset = "tinyllama", config, device = "cpu", dtype = "f32";
    std::vector<int> prompts{128, 512, 1024};
    int new_tokens = 16;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--preset", a->preset, "tinyllama (1.1 B) or small (the SeTokim test size)")
      ->check(CLI::IsMember({"tinyllama", "small"}));
  sub->add_option("--config", a->config, "A HuggingFace LLaMA config.json instead of a preset");
  sub->add_option("--prompt", a->prompts, "Prompt lengths (repeatable)")->check(CLI::Range(1, 32768));
  sub->add_option("--new", a->new_tokens, "Tokens decoded per prompt")->check(CLI::Range(1, 4096));
  sub->add_option("--device", a->device, "cpu or cuda[:N]");
  sub->add_option("--dtype", a->dtype, "f32, bf16 or f16")->check(CLI::IsMember({"f32", "bf16", "f16"}));
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a]() {
            llm::LlamaConfig c = !a->config.empty()         ? llm::LlamaConfig::from_json(io::read_json_file(a->config))
                                 : a->preset == "tinyllama" ? llm::LlamaConfig::tinyllama_1_1b()
                                                            : [] {
                                                                llm::LlamaConfig s;
                                                                s.vocab_size = 1000;
                                                                s.hidden_size = 256;
                                                                s.intermediate_size = 688;
                                                                s.num_hidden_layers = 4;
                                                                s.num_attention_heads = 8;
                                                                s.num_key_value_heads = 4;
                                                                return s;
                                                              }();
            const at::Device dev(a->device);
            if (dev.is_cuda() && !at::hasCUDA()) throw Error("device " + a->device + ": this LibTorch has no CUDA");
            const at::ScalarType dt = a->dtype == "bf16" ? at::kBFloat16 : a->dtype == "f16" ? at::kHalf : at::kFloat;
            at::manual_seed(0);
            llm::LlamaForCausalLM m(c);
            m->to(dev, dt);
            m->eval();
            std::int64_t params = 0;
            for (auto& p : m->parameters()) params += p.numel();
            c10::InferenceMode guard;
            auto sync = [&] {
              if (dev.is_cuda()) at::zeros({1}, at::TensorOptions().device(dev)).item<float>();
            };
            auto now = [] { return std::chrono::steady_clock::now(); };
            auto secs = [](auto t0, auto t1) { return std::chrono::duration<double>(t1 - t0).count(); };
            nlohmann::json runs = nlohmann::json::array();
            for (int P : a->prompts) {
              at::Tensor ids = at::randint(c.vocab_size, {1, P}, at::TensorOptions().dtype(at::kLong).device(dev));
              llm::KVCache cache =
                  llm::KVCache::allocate(c, 1, P + a->new_tokens + 1, at::TensorOptions().dtype(dt).device(dev));
              auto t0 = now();
              at::Tensor logits = m->forward(ids, &cache);
              at::Tensor next = logits.select(1, -1).argmax(-1).view({1, 1});
              sync();
              auto t1 = now();
              for (int i = 0; i < a->new_tokens; ++i)
                next = m->forward(next, &cache).select(1, -1).argmax(-1).view({1, 1});
              sync();
              auto t2 = now();
              // Without the cache: every step runs the whole sequence again (what the cache avoids).
              at::Tensor seq = ids;
              const int nc = std::min(a->new_tokens, 4);
              auto t3 = now();
              for (int i = 0; i < nc; ++i) {
                at::Tensor n2 = m->forward(seq).select(1, -1).argmax(-1).view({1, 1});
                seq = at::cat({seq, n2}, 1);
              }
              sync();
              auto t4 = now();
              runs.push_back({{"prompt", P},
                              {"prefill_ms", 1000 * secs(t0, t1)},
                              {"decode_ms_per_token", 1000 * secs(t1, t2) / a->new_tokens},
                              {"decode_tokens_per_s", a->new_tokens / secs(t1, t2)},
                              {"no_cache_ms_per_token", 1000 * secs(t3, t4) / nc}});
            }
            nlohmann::json j = {{"parameters", params},
                                {"layers", c.num_hidden_layers},
                                {"hidden", c.hidden_size},
                                {"kv_heads", c.num_key_value_heads},
                                {"dtype", a->dtype},
                                {"device", a->device},
                                {"runs", runs},
                                {"peak_memory_mb", peak_resident_bytes() / 1048576.0}};
            if (g.json) {
              print_json(j);
            } else {
              std::printf("LLaMA %.1f M parameters, %s on %s\n", params / 1e6, a->dtype.c_str(), a->device.c_str());
              std::printf("%8s %12s %16s %14s %18s\n", "prompt", "prefill ms", "decode ms/token", "decode tok/s",
                          "no-cache ms/token");
              for (const auto& r : runs)
                std::printf("%8d %12.1f %16.1f %14.2f %18.1f\n", r["prompt"].get<int>(), r["prefill_ms"].get<double>(),
                            r["decode_ms_per_token"].get<double>(), r["decode_tokens_per_s"].get<double>(),
                            r["no_cache_ms_per_token"].get<double>());
              std::printf("peak memory %.0f MiB\n", j["peak_memory_mb"].get<double>());
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
