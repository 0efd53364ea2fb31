// setok convert -m MODEL --out DIR --dtype f16|bf16|f32
// Casts a model folder's floating-point weights (every *.safetensors in it, sharded or not) and
// copies its other files; integer and boolean tensors keep their type.
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {

Command add_convert(CLI::App& app, Globals& g) {
  auto* sub =
      app.add_subcommand("convert", "Copy a model folder with its floating-point weights cast to f16, bf16 or f32");
  struct Args {
    std::string model, out, dtype;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "Model folder (config.json + safetensors)")->required();
  sub->add_option("--out", a->out, "Output folder (created; must not be the input)")->required();
  sub->add_option("--dtype", a->dtype, "f16, bf16 or f32")->required()->check(CLI::IsMember({"f16", "bf16", "f32"}));
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub, [&g, a]() {
            if (!fs::is_directory(a->model)) throw Error(a->model + ": not a model folder");
            if (!fs::exists(fs::path(a->model) / "config.json")) throw Error(a->model + ": no config.json");
            std::error_code ec;
            if (fs::exists(a->out) && fs::equivalent(a->model, a->out, ec))
              throw Error("--out must differ from the model folder");
            const at::ScalarType to = a->dtype == "f16" ? at::kHalf : a->dtype == "bf16" ? at::kBFloat16 : at::kFloat;
            nlohmann::json config = io::read_json_file((fs::path(a->model) / "config.json").string());
            io::save_checkpoint(a->out, config, [&] {
              io::TensorMap w = io::load_weights(a->model);
              for (auto& [name, t] : w)
                if (t.is_floating_point()) t = t.to(to);
              return w;
            }());
            std::uint64_t bytes = 0;
            int files = 0;
            for (const auto& e : fs::directory_iterator(a->model)) {
              const std::string name = e.path().filename().string();
              if (!e.is_regular_file() || name == "config.json" || name.rfind("model", 0) == 0) continue;
              if (e.path().extension() == ".safetensors") {
                io::TensorMap w = io::load_safetensors(e.path().string());
                for (auto& [n, t] : w)
                  if (t.is_floating_point()) t = t.to(to);
                io::save_safetensors((fs::path(a->out) / name).string(), w);
              } else {
                fs::copy_file(e.path(), fs::path(a->out) / name, fs::copy_options::overwrite_existing);
              }
              ++files;
            }
            for (const auto& e : fs::directory_iterator(a->out))
              if (e.is_regular_file()) bytes += e.file_size();
            if (g.json) {
              print_json({{"model", a->out}, {"dtype", a->dtype}, {"bytes", bytes}, {"extra_files", files}});
            } else {
              std::printf("%s: %s weights, %s\n", a->out.c_str(), a->dtype.c_str(), human_bytes(bytes).c_str());
            }
            return 0;
          }};
}

}  // namespace setok::cli
