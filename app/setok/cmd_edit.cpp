// setok edit IMAGE "INSTRUCTION" -o OUT.png | --edits EDITS.jsonl --images DIR --out DIR: SeTokim
// reads the image's tokens and the instruction, keeps the tokens the edit does not concern (bit
// for bit), writes the new ones (core/mllm/image_editor.h), and the detokenizer draws the set.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/writer_options.h"
#include "core/data/instruct_pix2pix.h"
#include "core/eval/picture_objects.h"
#include "core/io/image.h"
#include "core/mllm/image_editor.h"
#include "core/mllm/writer_model.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Args {
  std::string image, instruction, out, model, region, edits, images, out_dir, tokens;
  mllm::ImageEditing e;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The region mask's pixels that are set (> 127 in its first channel), at the image's size.
at::Tensor read_region(const std::string& path, const io::Image& image) {
  const io::Image m = io::load_image(path);
  if (m.width != image.width || m.height != image.height)
    throw Error(path + ": the region mask is " + std::to_string(m.width) + "x" + std::to_string(m.height) +
                " but the image is " + std::to_string(image.width) + "x" + std::to_string(image.height));
  return eval::picture_pixels(m)[0] > 0.5;
}

nlohmann::json indices_json(const std::vector<std::int64_t>& v) { return nlohmann::json(v); }

nlohmann::json edit_one(mllm::WriterModel& w, const std::string& image_path, const std::string& instruction,
                        const std::string& out, const Args& a) {
  if (instruction.find_first_not_of(" \t\n") == std::string::npos) throw Error("the instruction is empty");
  const io::Image image = io::load_image(image_path);
  const at::Tensor region = a.region.empty() ? at::Tensor() : read_region(a.region, image);
  const auto t0 = std::chrono::steady_clock::now();
  const mllm::PictureEdit pe =
      mllm::edit_picture(*w.loaded->model(), *w.head, w.loaded->tokenizer(), image, instruction, a.e, region);
  const mllm::EditedImage& ed = pe.edit;
  const double ms = ms_since(t0);
  io::save_png(out, pe.picture);
  if (!a.tokens.empty()) tokenizer::save_token_set(a.tokens, ed.tokens);
  nlohmann::json r = {{"image", image_path},
                      {"instruction", instruction},
                      {"out", out},
                      {"kept", indices_json(ed.indices(mllm::TokenEdit::kKeep))},
                      {"changed", indices_json(ed.indices(mllm::TokenEdit::kChange))},
                      {"removed", indices_json(ed.indices(mllm::TokenEdit::kRemove))},
                      {"added", ed.added()},
                      {"written", ed.written.count()},
                      {"tokens_in", ed.status.size()},
                      {"tokens_out", ed.tokens.count()},
                      {"finished", ed.finished},
                      {"drawn_share", pe.drawn_share},
                      {"seed", a.e.writing.seed},
                      {"ms", ms}};
  r["ms_parts"] = {{"language_model", ed.lm_ms}, {"diffusion_head", ed.head_ms}, {"detokenizer", ed.draw_ms}};
  return r;
}

int run_batch(mllm::WriterModel& w, const Args& a, bool json) {
  const auto edits = data::read_edit_triplets(a.edits, a.images);
  fs::create_directories(a.out_dir);
  nlohmann::json items = nlohmann::json::array();
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t failed = 0;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const std::string out = (fs::path(a.out_dir) / fs::path(edits[i].edited_image).filename()).string();
    try {
      items.push_back(edit_one(w, edits[i].input_image, edits[i].instruction, out, a));
    } catch (const Error& e) {  // one bad line does not lose the others
      ++failed;
      items.push_back({{"image", edits[i].input_image}, {"instruction", edits[i].instruction}, {"error", e.what()}});
      std::fprintf(stderr, "\n%s: %s\n", edits[i].input_image.c_str(), e.what());
    }
    std::fprintf(stderr, "\r%zu/%zu", i + 1, edits.size());
  }
  std::fprintf(stderr, "\n");
  const double ms = ms_since(t0) / std::max<double>(1, static_cast<double>(edits.size()));
  if (json) print_json({{"count", edits.size()}, {"failed", failed}, {"ms_per_edit", ms}, {"edits", items}});
  else std::printf("%zu edits in %s (%.0f ms each, %zu failed)\n", edits.size(), a.out_dir.c_str(), ms, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

Command add_edit(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("edit", "Edit an image by an instruction: SeTokim rewrites only the tokens concerned");
  auto a = std::make_shared<Args>();
  sub->add_option("IMAGE", a->image, "The image to edit");
  sub->add_option("INSTRUCTION", a->instruction, "What to change (\"Make the red circle blue.\")");
  sub->add_option("-o,--output", a->out, "Output PNG (one edit)");
  sub->add_option("-m,--model", a->model, "SeTokim model folder trained to edit (default: the bundled one)");
  sub->add_option("--region", a->region, "A mask PNG of the image's size: only the tokens under it may change");
  sub->add_option("--edits", a->edits, "An edits file (JSON Lines of {input_image, edit_prompt, edited_image})");
  sub->add_option("--images", a->images, "The folder --edits' image paths are relative to");
  sub->add_option("--out", a->out_dir, "Output folder for --edits: OUT/<file name of each line's edited_image>");
  sub->add_option("--tokens", a->tokens, "Also save the edited token set (safetensors)");
  sub->add_flag("--whole-picture", a->e.whole_picture,
                "Draw the whole picture from the edited tokens (default: the input's own pixels wherever the edit "
                "drew nothing)");
  add_writing_options(sub, a->e.writing, "New tokens at most");
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a, sub]() {
            const bool batch = !a->edits.empty();
            if (batch == (sub->count("IMAGE") > 0))
              throw Error("give IMAGE and INSTRUCTION, or --edits FILE (not both)");
            if (batch && (a->out_dir.empty() || a->images.empty()))
              throw Error("--edits needs --images DIR and --out DIR");
            if (!batch && a->out.empty()) throw Error("give the output PNG with -o OUT.png");
            if (!batch && a->instruction.find_first_not_of(" \t\n") == std::string::npos)
              throw Error("the instruction is empty");
            if (batch && !a->region.empty()) throw Error("--region is for one edit, not --edits");
            if (!batch) io::load_image(a->image);  // an unreadable image fails before the model loads
            mllm::WriterModel w = mllm::load_writer_model(a->model);
            if (batch) return run_batch(w, *a, g.json);
            nlohmann::json r = edit_one(w, a->image, a->instruction, a->out, *a);
            if (g.json) print_json(r);
            else
              std::printf("%s: kept %zu of %zu tokens, changed %zu, removed %zu, added %lld (%.0f ms)\n",
                          a->out.c_str(), r["kept"].size(),
                          r["kept"].size() + r["changed"].size() + r["removed"].size(), r["changed"].size(),
                          r["removed"].size(), static_cast<long long>(r["added"]), r["ms"].get<double>());
            return 0;
          },
          true};
}

}  // namespace setok::cli
