// setok tokenize IMAGE: the image's semantic tokens as an overlay, an index map and statistics.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/setok/cluster_flags.h"
#include "app/setok/command.h"
#include "core/engine/engine.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_overlay.h"
#include "core/tokenizer/token_set.h"

namespace setok::cli {
namespace {

std::string hex(const tokenizer::Rgb& c) {
  char b[8];
  std::snprintf(b, sizeof b, "#%02x%02x%02x", c.r, c.g, c.b);
  return b;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Args {
  std::string image, model, overlay, masks, reconstruction, tokens;
  float opacity = 0.5f;
  bool no_outline = false;
  bool pixel_edges = false;
};

void write_outputs(const Args& a, const io::Image& img, const engine::TokenizeResult& r) {
  if (!a.reconstruction.empty()) io::save_png(a.reconstruction, r.reconstruction);
  if (!a.overlay.empty()) io::save_png(a.overlay, tokenizer::render_overlay(img, r.map, a.opacity, !a.no_outline));
  if (!a.masks.empty()) io::save_index_png(a.masks, r.width, r.height, r.map);
  if (!a.tokens.empty()) tokenizer::save_token_set(a.tokens, *r.token_set);
}

nlohmann::json result_json(const Args& a, const engine::TokenizeResult& r, double image_ms) {
  nlohmann::json j = {{"image", a.image},
                      {"width", r.width},
                      {"height", r.height},
                      {"model", r.model_name},
                      {"trained", r.trained},
                      {"grid", {r.grid_h, r.grid_w}},
                      {"edges", r.pixel_edges ? "pixel" : "patch"},
                      {"tokens", r.tokens.size()},
                      {"params", r.params},
                      {"ms",
                       {{"load", image_ms + r.ms.load_model_ms},
                        {"tokenize", r.ms.encode_ms + r.ms.cluster_ms},
                        {"map", r.ms.post_ms}}}};
  if (!a.reconstruction.empty()) {
    j["reconstruction"] = {{"path", a.reconstruction}, {"psnr_db", r.reconstruction_psnr_db}};
    j["ms"]["reconstruct"] = r.ms.reconstruct_ms;
  }
  if (!a.tokens.empty()) {
    const tokenizer::TokenSet& s = *r.token_set;
    j["token_set"] = {{"path", a.tokens},
                      {"count", s.count()},
                      {"numbers_per_token", {{"vector", s.token_dim()}, {"descriptor", s.descriptor_dims()}}},
                      {"bytes_per_token_f16", 2 * s.width()}};
  }
  const double total = static_cast<double>(r.width) * r.height;
  nlohmann::json list = nlohmann::json::array();
  for (const engine::TokenInfo& t : r.tokens) {
    const tokenizer::TokenStat& s = t.stat;
    list.push_back({{"index", s.index},
                    {"area", s.area},
                    {"area_fraction", s.area / total},
                    {"bbox", {s.x, s.y, s.w, s.h}},
                    {"centroid", {s.cx, s.cy}},
                    {"colour", hex(s.colour)},
                    {"seed_patch", t.seed_patch}});
  }
  j["token_list"] = list;
  return j;
}

void print_table(const Args& a, const engine::TokenizeResult& r) {
  if (!r.trained)
    std::printf("note: %s is not trained; its tokens only show the pipeline at work\n", r.model_name.c_str());
  std::printf("%s: %dx%d, %zu tokens from a %dx%d patch grid (%.0f ms)\n", a.image.c_str(), r.width, r.height,
              r.tokens.size(), r.grid_h, r.grid_w, r.ms.encode_ms + r.ms.cluster_ms);
  if (!a.reconstruction.empty())
    std::printf("  reconstruction: %s, PSNR %.2f dB against the input at %dx%d (%.0f ms)\n", a.reconstruction.c_str(),
                r.reconstruction_psnr_db, r.reconstruction.width, r.reconstruction.height, r.ms.reconstruct_ms);
  if (!a.tokens.empty())
    std::printf("  token set: %s, %lld tokens of %lld numbers (%lld bytes each in f16)\n", a.tokens.c_str(),
                static_cast<long long>(r.token_set->count()), static_cast<long long>(r.token_set->width()),
                static_cast<long long>(2 * r.token_set->width()));
  std::printf("  token  colour    area   bbox (x y w h)        centroid\n");
  const double total = static_cast<double>(r.width) * r.height;
  for (const engine::TokenInfo& t : r.tokens) {
    const tokenizer::TokenStat& s = t.stat;
    std::printf("  %5d  %s  %5.1f%%  %4d %4d %4d %4d  %7.1f %7.1f\n", s.index, hex(s.colour).c_str(),
                100.0 * s.area / total, s.x, s.y, s.w, s.h, s.cx, s.cy);
  }
}

}  // namespace

Command add_tokenize(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("tokenize", "Split an image into semantic tokens: overlay, index map, statistics");
  auto a = std::make_shared<Args>();
  sub->add_option("IMAGE", a->image, "Any image file (PNG, JPEG, TIFF, WebP…; grey, 16-bit, alpha, CMYK)")->required();
  sub->add_option("-m,--model", a->model, "SeTok model folder (default: the bundled model)");
  sub->add_option("--overlay", a->overlay, "Write the image with coloured token masks (PNG)");
  sub->add_option("--masks", a->masks, "Write the hard token assignment as a PNG index map (value = token index)");
  sub->add_option("--reconstruction", a->reconstruction,
                  "Write the image the detokenizer draws from the tokens (PNG, at the model's input size) and "
                  "report its PSNR against the input as the model sees it");
  sub->add_option("--tokens", a->tokens,
                  "Write the token set: each token's vector and region descriptor, all the detokenizer and SeTokim "
                  "read (.safetensors, f16; `setok detokenize` draws it)");
  sub->add_option("--opacity", a->opacity, "Overlay opacity")->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--no-outline", a->no_outline, "Overlay without token boundaries");
  sub->add_flag("--pixel-edges", a->pixel_edges,
                "Masks, overlay and statistics at pixel resolution: pixels near a token boundary go to the "
                "neighbouring token of the nearest mean colour (default: whole patches, as the model groups them)");
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto flags = add_cluster_flags(sub);
  return {sub,
          [&g, a, flags, sub]() {
            // The studio's pipeline (core/engine), run once: the model, its untrained fallback, the token
            // maps, the reconstruction and its PSNR are the engine's.
            const auto t0 = std::chrono::steady_clock::now();
            engine::TokenizeRequest req;
            req.image = io::load_image(a->image);
            const double image_ms = ms_since(t0);
            // The cluster flags override the model's own settings (read without loading its weights).
            req.params = flags->resolve(engine::model_cluster_params(a->model), *sub);
            req.pixel_edges = a->pixel_edges;
            req.reconstruct = !a->reconstruction.empty();
            req.token_set = !a->tokens.empty();
            engine::EngineOptions eo;
            eo.model_dir = a->model;
            eo.background_priority = false;
            const io::Image img = req.image;
            const engine::TokenizeResult r = engine::Engine(eo).run(std::move(req));
            if (r.status == engine::Status::kError) throw Error(r.error);
            if (!r.ok()) throw Error(std::string("tokenizing ended: ") + engine::to_string(r.status));
            write_outputs(*a, img, r);
            if (g.json) std::printf("%s\n", result_json(*a, r, image_ms).dump().c_str());
            else print_table(*a, r);
            return 0;
          },
          true};
}

}  // namespace setok::cli
