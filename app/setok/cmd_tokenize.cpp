// setok tokenize IMAGE: the image's semantic tokens as an overlay, an index map and statistics.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/setok/cluster_flags.h"
#include "app/setok/command.h"
#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/tokenizer/token_overlay.h"

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

}  // namespace

Command add_tokenize(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("tokenize", "Split an image into semantic tokens: overlay, index map, statistics");
  struct Args {
    std::string image, model, overlay, masks, reconstruction;
    float opacity = 0.5f;
    bool no_outline = false;
    bool pixel_edges = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("IMAGE", a->image, "Any image file (PNG, JPEG, TIFF, WebP…; grey, 16-bit, alpha, CMYK)")->required();
  sub->add_option("-m,--model", a->model, "SeTok model folder (default: the bundled model)");
  sub->add_option("--overlay", a->overlay, "Write the image with coloured token masks (PNG)");
  sub->add_option("--masks", a->masks, "Write the hard token assignment as a PNG index map (value = token index)");
  sub->add_option("--reconstruction", a->reconstruction,
                  "Write the image the detokenizer draws from the tokens (PNG, at the model's input size) and "
                  "report its PSNR against the input as the model sees it");
  sub->add_option("--opacity", a->opacity, "Overlay opacity")->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--no-outline", a->no_outline, "Overlay without token boundaries");
  sub->add_flag("--pixel-edges", a->pixel_edges,
                "Masks, overlay and statistics at pixel resolution: pixels near a token boundary go to the "
                "neighbouring token of the nearest mean colour (default: whole patches, as the model groups them)");
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto flags = add_cluster_flags(sub);
  return {sub, [&g, a, flags, sub]() {
    auto t0 = std::chrono::steady_clock::now();
    io::Image img = io::load_image(a->image);
    std::string model_dir = a->model.empty() ? tokenizer::default_setok_model() : a->model;
    tokenizer::SetokModel model{nullptr};
    if (model_dir.empty()) {
      // No trained model is bundled yet: a fixed-seed random one shows the pipeline, and says so.
      at::manual_seed(0);
      model = tokenizer::SetokModel(tokenizer::SetokConfig::small());
      model->eval();
    } else {
      model = tokenizer::load_setok(model_dir);
    }
    model->config().cluster = flags->resolve(model->config().cluster, *sub);
    const bool trained = model->config().trained;
    double load_ms = ms_since(t0);

    c10::InferenceMode guard;
    auto t1 = std::chrono::steady_clock::now();
    const at::Tensor pixels = model->preprocess(img);
    tokenizer::Tokenized t = model->tokenize(pixels);
    double run_ms = ms_since(t1);
    double recon_ms = 0, recon_psnr = 0;
    if (!a->reconstruction.empty()) {
      // The detokenizer's picture of the tokens, scored against the input as the encoder saw it
      // (resized to the model's input size), as `setok eval setok` scores its PSNR.
      auto tr = std::chrono::steady_clock::now();
      at::Tensor recon = model->reconstruct(pixels, t).clamp(-1, 1);
      recon_ms = ms_since(tr);
      recon_psnr = eval::psnr((recon + 1) / 2, (pixels + 1) / 2)[0].item<double>();
      io::save_png(a->reconstruction, eval::to_image(recon[0]));
    }
    const int64_t c = t.clusters.num_tokens[0].item<int64_t>();
    at::Tensor assign = t.clusters.masks[0].narrow(1, 0, c).argmax(1).to(at::kInt).contiguous();
    std::vector<int32_t> grid(assign.data_ptr<int32_t>(), assign.data_ptr<int32_t>() + assign.numel());
    auto t2 = std::chrono::steady_clock::now();
    std::vector<int32_t> map =
        a->pixel_edges
            ? tokenizer::refine_token_map(img, grid, static_cast<int>(t.grid_h), static_cast<int>(t.grid_w))
            : tokenizer::upsample_token_map(grid, static_cast<int>(t.grid_h), static_cast<int>(t.grid_w), img.width,
                                            img.height);
    const double map_ms = ms_since(t2);
    if (!a->overlay.empty()) io::save_png(a->overlay, tokenizer::render_overlay(img, map, a->opacity, !a->no_outline));
    if (!a->masks.empty()) io::save_index_png(a->masks, img.width, img.height, map);

    std::vector<tokenizer::TokenStat> stats = tokenizer::token_stats(map, img.width, img.height, static_cast<int>(c));
    at::Tensor seeds = t.clusters.seeds[0];
    const double total = static_cast<double>(img.width) * img.height;
    const std::string model_name = model_dir.empty() ? "random-init small model (untrained)" : model_dir;
    if (g.json) {
      nlohmann::json j = {{"image", a->image},
                          {"width", img.width},
                          {"height", img.height},
                          {"model", model_name},
                          {"trained", trained},
                          {"grid", {t.grid_h, t.grid_w}},
                          {"edges", a->pixel_edges ? "pixel" : "patch"},
                          {"tokens", c},
                          {"params", model->config().cluster},
                          {"ms", {{"load", load_ms}, {"tokenize", run_ms}, {"map", map_ms}}}};
      if (!a->reconstruction.empty()) {
        j["reconstruction"] = {{"path", a->reconstruction}, {"psnr_db", recon_psnr}};
        j["ms"]["reconstruct"] = recon_ms;
      }
      nlohmann::json list = nlohmann::json::array();
      for (const auto& s : stats)
        list.push_back({{"index", s.index},
                        {"area", s.area},
                        {"area_fraction", s.area / total},
                        {"bbox", {s.x, s.y, s.w, s.h}},
                        {"centroid", {s.cx, s.cy}},
                        {"colour", hex(s.colour)},
                        {"seed_patch", seeds[s.index].item<int64_t>()}});
      j["token_list"] = list;
      std::printf("%s\n", j.dump().c_str());
    } else {
      if (!trained) std::printf("note: %s is not trained; its tokens only show the pipeline at work\n", model_name.c_str());
      std::printf("%s: %dx%d, %lld tokens from a %lldx%lld patch grid (%.0f ms)\n", a->image.c_str(), img.width,
                  img.height, static_cast<long long>(c), static_cast<long long>(t.grid_h),
                  static_cast<long long>(t.grid_w), run_ms);
      if (!a->reconstruction.empty())
        std::printf("  reconstruction: %s, PSNR %.2f dB against the input at %lldx%lld (%.0f ms)\n",
                    a->reconstruction.c_str(), recon_psnr, static_cast<long long>(model->config().vision.image_size),
                    static_cast<long long>(model->config().vision.image_size), recon_ms);
      std::printf("  token  colour    area   bbox (x y w h)        centroid\n");
      for (const auto& s : stats)
        std::printf("  %5d  %s  %5.1f%%  %4d %4d %4d %4d  %7.1f %7.1f\n", s.index, hex(s.colour).c_str(),
                    100.0 * s.area / total, s.x, s.y, s.w, s.h, s.cx, s.cy);
    }
    return 0;
  }, true};
}

}  // namespace setok::cli
