// setok detokenize TOKENS -o OUT.png: the picture a SeTok detokenizer draws from a token set alone
// (as `setok tokenize --tokens` writes it, or a generator); no pixel of any image is read.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "core/eval/label_maps.h"
#include "core/io/checkpoint.h"
#include "core/io/image.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_set.h"

namespace setok::cli {

Command add_detokenize(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("detokenize", "Draw the picture a token set stands for (tokens alone, no pixels)");
  struct Args {
    std::string tokens, out, model;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("TOKENS", a->tokens, "A token set (.safetensors, as `setok tokenize --tokens` writes it)")
      ->required();
  sub->add_option("-o,--out", a->out, "Output PNG (at the model's input size)")->required();
  sub->add_option("-m,--model", a->model, "SeTok or SeTokim model folder (default: the bundled SeTok)");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a]() {
            const auto t0 = std::chrono::steady_clock::now();
            const tokenizer::TokenSet set = tokenizer::load_token_set(a->tokens);
            const std::string dir = a->model.empty() ? tokenizer::default_setok_model() : a->model;
            if (dir.empty()) throw Error("no model given and no bundled SeTok model found (use -m MODEL)");
            // A SeTokim folder draws with its own copy of SeTok (what its generator's tokens are for).
            const bool setokim =
                io::read_json_file((std::filesystem::path(dir) / "config.json").string()).value("model_type", "") ==
                "setokim";
            tokenizer::SetokModel model = setokim ? mllm::load_setokim(dir)->setok : tokenizer::load_setok(dir);
            const at::Tensor pixels = tokenizer::draw_token_set(*model, set).clamp(-1, 1);
            const io::Image img = eval::to_image(pixels[0]);
            io::save_png(a->out, img);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (g.json) {
              print_json({{"tokens", a->tokens},
                          {"count", set.count()},
                          {"numbers_per_token", set.width()},
                          {"out", a->out},
                          {"width", img.width},
                          {"height", img.height},
                          {"ms", ms}});
            } else {
              std::printf("%s: %lld tokens of %lld numbers -> %s (%dx%d, %.0f ms)\n", a->tokens.c_str(),
                          static_cast<long long>(set.count()), static_cast<long long>(set.width()), a->out.c_str(),
                          img.width, img.height, ms);
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
