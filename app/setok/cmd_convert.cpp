// setok convert -m MODEL --out DIR [--dtype f16|bf16|f32] [--detokenizer-from SETOK]
// Casts a model folder's floating-point weights (every *.safetensors in it, sharded or not) and
// copies its other files; integer and boolean tensors keep their type. With --detokenizer-from, a
// SeTokim's copy of SeTok draws with another SeTok's detokenizer (core/mllm/detokenizer_swap.h).
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/mllm/detokenizer_swap.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {

Command add_convert(CLI::App& app, Globals& g) {
  auto* sub =
      app.add_subcommand("convert", "Copy a model folder with its floating-point weights cast to f16, bf16 or f32");
  struct Args {
    std::string model, out, dtype, detokenizer;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "Model folder (config.json + safetensors)")->required();
  sub->add_option("--out", a->out, "Output folder (created; must not be the input)")->required();
  sub->add_option("--dtype", a->dtype, "f16, bf16 or f32 (default: each tensor keeps its type)")
      ->check(CLI::IsMember({"f16", "bf16", "f32"}));
  sub->add_option("--detokenizer-from", a->detokenizer,
                  "A SeTokim only: draw with this SeTok folder's detokenizer (the tokens it reads are unchanged)");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub, [&g, a]() {
            if (!fs::is_directory(a->model)) throw Error(a->model + ": not a model folder");
            if (!fs::exists(fs::path(a->model) / "config.json")) throw Error(a->model + ": no config.json");
            std::error_code ec;
            if (fs::exists(a->out) && fs::equivalent(a->model, a->out, ec))
              throw Error("--out must differ from the model folder");
            if (a->dtype.empty() && a->detokenizer.empty())
              throw Error("nothing to change: give --dtype or --detokenizer-from");
            const at::ScalarType to = a->dtype == "f16" ? at::kHalf : a->dtype == "bf16" ? at::kBFloat16 : at::kFloat;
            auto cast = [&](io::TensorMap& w) {
              if (a->dtype.empty()) return;
              for (auto& [name, t] : w)
                if (t.is_floating_point()) t = t.to(to);
            };
            io::Checkpoint ck{io::read_json_file((fs::path(a->model) / "config.json").string()),
                              io::load_weights(a->model)};
            if (!a->detokenizer.empty()) {
              io::Checkpoint other = io::load_checkpoint(a->detokenizer);
              at::ScalarType stored = at::kFloat;  // the SeTokim's own float type
              for (const auto& [name, t] : ck.tensors)
                if (t.is_floating_point()) stored = t.scalar_type();
              for (auto& [name, t] : other.tensors)
                if (t.is_floating_point()) t = t.to(stored);
              mllm::swap_detokenizer(ck, other);
            }
            cast(ck.tensors);
            io::save_checkpoint(a->out, ck.config, ck.tensors);
            std::uint64_t bytes = 0;
            int files = 0;
            for (const auto& e : fs::directory_iterator(a->model)) {
              const std::string name = e.path().filename().string();
              if (!e.is_regular_file() || name == "config.json" || name.rfind("model", 0) == 0) continue;
              if (e.path().extension() == ".safetensors") {
                io::TensorMap w = io::load_safetensors(e.path().string());
                cast(w);
                io::save_safetensors((fs::path(a->out) / name).string(), w);
              } else {
                fs::copy_file(e.path(), fs::path(a->out) / name, fs::copy_options::overwrite_existing);
              }
              ++files;
            }
            for (const auto& e : fs::directory_iterator(a->out))
              if (e.is_regular_file()) bytes += e.file_size();
            if (!a->detokenizer.empty()) mllm::load_setokim(a->out);  // what was written loads
            if (g.json) {
              print_json({{"model", a->out},
                          {"dtype", a->dtype.empty() ? "as stored" : a->dtype},
                          {"bytes", bytes},
                          {"extra_files", files},
                          {"detokenizer_from", a->detokenizer}});
            } else {
              std::printf("%s: %s weights%s, %s\n", a->out.c_str(), a->dtype.empty() ? "stored" : a->dtype.c_str(),
                          a->detokenizer.empty() ? "" : (", the detokenizer of " + a->detokenizer).c_str(),
                          human_bytes(bytes).c_str());
            }
            return 0;
          }};
}

}  // namespace setok::cli
