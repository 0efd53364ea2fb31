// setok generate "PROMPT" -o OUT.png | --prompts PROMPTS.jsonl --out DIR: SeTokim writes an
// image's visual tokens from a prompt (core/mllm/image_writer.h) and SeTok's detokenizer draws them.
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/writer_options.h"
#include "core/data/generation_prompts.h"
#include "core/eval/label_maps.h"
#include "core/heads/diffusion_head.h"
#include "core/io/image.h"
#include "core/mllm/generation_request.h"
#include "core/mllm/image_writer.h"
#include "core/mllm/writer_model.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Args {
  std::string prompt, out, model, prompts, out_dir, tokens;
  mllm::ImageWriting w;
  bool json = false;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Generator {
  mllm::WriterModel m;
  double load_ms = 0;
};

Generator load_generator(const std::string& model) {
  const auto t0 = std::chrono::steady_clock::now();
  Generator g{mllm::load_writer_model(model)};
  g.load_ms = ms_since(t0);
  return g;
}

nlohmann::json write_one(Generator& g, const std::string& prompt, const std::string& out, const std::string& tokens,
                         const mllm::ImageWriting& w) {
  if (prompt.find_first_not_of(" \t\n") == std::string::npos) throw Error("the prompt is empty");
  const auto t0 = std::chrono::steady_clock::now();
  mllm::WrittenImage img = mllm::write_image(*g.m.loaded->model(), *g.m.head, g.m.loaded->tokenizer(),
                                             mllm::generation_request(prompt), mllm::null_generation_request(), w);
  const double ms = ms_since(t0);
  io::save_png(out, eval::to_image(img.pixels.clamp(-1, 1)[0]));
  if (!tokens.empty()) tokenizer::save_token_set(tokens, img.tokens);
  nlohmann::json r = {{"prompt", prompt},         {"out", out},     {"tokens", img.tokens.count()},
                      {"finished", img.finished}, {"seed", w.seed}, {"ms", ms}};
  r["ms_parts"] = {{"language_model", img.lm_ms}, {"diffusion_head", img.head_ms}, {"detokenizer", img.draw_ms}};
  return r;
}

int run_batch(Generator& g, const Args& a) {
  const auto prompts = data::read_generation_prompts(a.prompts);
  fs::create_directories(a.out_dir);
  nlohmann::json items = nlohmann::json::array();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const std::string out = (fs::path(a.out_dir) / fs::path(prompts[i].relative).filename()).string();
    items.push_back(write_one(g, prompts[i].prompt, out, "", a.w));
    std::fprintf(stderr, "\r%zu/%zu", i + 1, prompts.size());
  }
  std::fprintf(stderr, "\n");
  const double ms = ms_since(t0);
  double lm = 0, head = 0, draw = 0, tokens = 0;
  for (const auto& it : items) {
    lm += it["ms_parts"]["language_model"].get<double>();
    head += it["ms_parts"]["diffusion_head"].get<double>();
    draw += it["ms_parts"]["detokenizer"].get<double>();
    tokens += it["tokens"].get<double>();
  }
  const double n = static_cast<double>(prompts.size());
  if (a.json)
    print_json(
        {{"count", prompts.size()},
         {"ms_per_image", ms / n},
         {"ms_per_image_parts", {{"language_model", lm / n}, {"diffusion_head", head / n}, {"detokenizer", draw / n}}},
         {"tokens_per_image", tokens / n},
         {"images", items}});
  else std::printf("%zu images in %s (%.0f ms each)\n", prompts.size(), a.out_dir.c_str(), ms / prompts.size());
  return 0;
}

}  // namespace

Command add_generate(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("generate", "Draw an image from a prompt: SeTokim writes its visual tokens");
  auto a = std::make_shared<Args>();
  sub->add_option("PROMPT", a->prompt, "What to draw");
  sub->add_option("-o,--output", a->out, "Output PNG (one prompt)");
  sub->add_option("-m,--model", a->model, "SeTokim model folder with a diffusion head (default: the bundled one)");
  sub->add_option("--prompts", a->prompts, "A prompts file (JSON Lines of {image, prompt}), one image each");
  sub->add_option("--out", a->out_dir, "Output folder for --prompts: OUT/<file name of each line's image>");
  sub->add_option("--tokens", a->tokens,
                  "Also write the written token set (.safetensors; `setok detokenize` draws it)");
  add_writing_options(sub, a->w, "Tokens at most");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a, sub]() {
            a->json = g.json;
            const bool batch = !a->prompts.empty();
            if (!batch && sub->count("PROMPT") > 0 && a->prompt.find_first_not_of(" \t\n") == std::string::npos)
              throw Error("the prompt is empty");
            if (batch == !a->prompt.empty()) throw Error("give a PROMPT or --prompts FILE (not both)");
            if (batch && a->out_dir.empty()) throw Error("--prompts needs --out DIR");
            if (!batch && a->out.empty()) throw Error("give the output PNG with -o OUT.png");
            if (!batch && a->prompt.find_first_not_of(" \t\n") == std::string::npos) throw Error("the prompt is empty");
            Generator gen = load_generator(a->model);
            if (batch) return run_batch(gen, *a);
            nlohmann::json r = write_one(gen, a->prompt, a->out, a->tokens, a->w);
            r["ms_load"] = gen.load_ms;
            if (g.json) print_json(r);
            else
              std::printf("%s: %lld tokens%s (%.0f ms)\n", a->out.c_str(), static_cast<long long>(r["tokens"]),
                          r["finished"].get<bool>() ? "" : ", cut at --max-tokens", r["ms"].get<double>());
            return 0;
          },
          true};
}

}  // namespace setok::cli
