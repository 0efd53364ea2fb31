// setok segment IMAGE ["EXPRESSION"] [--point X,Y[,neg] …] [--box X0,Y0,X1,Y1] --mask OUT.png
// setok segment --refs REFS.json --images DIR --out DIR
// Referring segmentation and click-to-segment (core/heads/segmenter.h): a 0/255 mask at the image's
// own resolution. Every argument is checked before the model is loaded.
#include <cstdio>
#include <filesystem>

#include "app/setok/command.h"
#include "app/setok/segment_model.h"
#include "app/setok/segment_output.h"
#include "app/setok/segment_prompts.h"
#include "app/setok/segment_refs.h"
#include "core/io/image.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Args {
  std::string image, expression, model, mask, overlay, box;
  std::vector<std::string> points;
  bool click_alone = false;
  SegmentRefsOptions refs;
  // Whether an option was given at all: an expression given as "" is an error, none is not.
  CLI::Option *image_opt = nullptr, *expression_opt = nullptr, *box_opt = nullptr;
  CLI::Option *mask_opt = nullptr, *overlay_opt = nullptr, *refs_opt = nullptr;
  CLI::Option *images_opt = nullptr, *out_opt = nullptr, *limit_opt = nullptr;
};

bool given(const CLI::Option* o) { return o->count() > 0; }

// The single-image forms' query, from the text alone (nothing read yet).
heads::SegmentQuery parse_query(const Args& a) {
  heads::SegmentQuery q;
  if (given(a.expression_opt)) {
    if (a.expression.find_first_not_of(" \t\r\n") == std::string::npos)
      throw Error("the expression is empty (give words, or leave it out and click with --point)");
    q.expression = a.expression;
  }
  for (const std::string& p : a.points) q.clicks.push_back(parse_click(p));
  if (given(a.box_opt)) q.box = parse_box(a.box);
  q.token_under_click = !a.click_alone;
  if (q.expression.empty() && q.clicks.empty() && !q.box)
    throw Error("nothing to segment: give an EXPRESSION, --point X,Y or --box X0,Y0,X1,Y1");
  return q;
}

void check_single_form(const Args& a) {
  if (given(a.images_opt) || given(a.out_opt) || given(a.limit_opt))
    throw Error("--images, --out and --limit go with --refs REFS.json");
  if (!given(a.image_opt)) throw Error("no IMAGE given (or segment a refs file with --refs REFS.json)");
  if (!given(a.mask_opt)) throw Error("--mask OUT.png is required: where to write the mask");
}

void check_refs_form(const Args& a) {
  if (given(a.image_opt) || given(a.expression_opt) || !a.points.empty() || given(a.box_opt) || given(a.mask_opt) ||
      given(a.overlay_opt))
    throw Error(
        "--refs segments every sentence of a file: give no IMAGE, EXPRESSION, --point, --box, --mask or --overlay");
  if (!given(a.images_opt) || !given(a.out_opt)) throw Error("--refs needs --images DIR and --out DIR");
}

void check_outputs(const Args& a) {
  check_output_file(a.mask, "--mask");
  if (!given(a.overlay_opt)) return;
  check_output_file(a.overlay, "--overlay");
  std::error_code ec;
  if (fs::weakly_canonical(a.overlay, ec) == fs::weakly_canonical(a.mask, ec))
    throw Error("--mask and --overlay name the same file");
}

nlohmann::json query_json(const heads::SegmentQuery& q) {
  nlohmann::json clicks = nlohmann::json::array();
  for (const heads::Click& c : q.clicks) clicks.push_back({{"x", c.x}, {"y", c.y}, {"positive", c.positive}});
  nlohmann::json j = {{"expression", q.expression.empty() ? nlohmann::json() : nlohmann::json(q.expression)},
                      {"clicks", clicks},
                      {"box", nullptr}};
  if (q.box) j["box"] = {q.box->x0, q.box->y0, q.box->x1, q.box->y1};
  return j;
}

nlohmann::json result_json(const Args& a, const std::string& model, const heads::SegmentQuery& q,
                           const heads::SegmentResult& r, double load_ms) {
  nlohmann::json candidates = nlohmann::json::array(), referred = nlohmann::json::array();
  for (const heads::MaskCandidate& c : r.candidates) candidates.push_back(candidate_json(c));
  for (std::size_t i = 0; i < r.referred_tokens.size(); ++i)
    referred.push_back(
        {{"index", r.referred_tokens[i]},
         {"relevance", i < r.relevance.size() ? nlohmann::json(score_json(r.relevance[i])) : nlohmann::json()}});
  nlohmann::json j = {{"image", a.image}, {"model", model}, {"width", r.width}, {"height", r.height}};
  j.update(query_json(q));
  j.update(candidate_json(r.mask()));
  j["candidates"] = candidates;
  j["best"] = r.best;
  j["referred_tokens"] = referred;
  j["ms"] = {{"encode", r.ms.encode_ms},
             {"language", r.ms.language_ms},
             {"decode", r.ms.decode_ms},
             {"total", r.ms.total_ms},
             {"load_model", load_ms}};
  j["mask"] = a.mask;
  j["overlay"] = given(a.overlay_opt) ? nlohmann::json(a.overlay) : nlohmann::json();
  return j;
}

void print_result(const Args& a, const heads::SegmentResult& r, double load_ms) {
  const heads::MaskCandidate& m = r.mask();
  const double share = 100.0 * static_cast<double>(m.area) / (static_cast<double>(r.width) * r.height);
  std::printf("%s (%dx%d): %lld pixels (%.1f %%), bbox x %d y %d w %d h %d, predicted IoU %.2f\n", a.image.c_str(),
              r.width, r.height, static_cast<long long>(m.area), share, m.bbox[0], m.bbox[1], m.bbox[2], m.bbox[3],
              static_cast<double>(m.predicted_iou));
  for (std::size_t i = 0; i < r.candidates.size(); ++i)
    std::printf("  candidate %zu: predicted IoU %.2f, %lld pixels%s\n", i,
                static_cast<double>(r.candidates[i].predicted_iou), static_cast<long long>(r.candidates[i].area),
                static_cast<int>(i) == r.best ? " (written)" : "");
  std::printf("  %.0f ms (encode %.0f, language %.0f, decode %.0f) after loading the model in %.0f ms\n", r.ms.total_ms,
              r.ms.encode_ms, r.ms.language_ms, r.ms.decode_ms, load_ms);
  std::printf("  mask: %s%s%s\n", a.mask.c_str(), given(a.overlay_opt) ? ", overlay: " : "",
              given(a.overlay_opt) ? a.overlay.c_str() : "");
}

int run_single(const Args& a, bool json) {
  check_single_form(a);
  const heads::SegmentQuery q = parse_query(a);
  const io::Image img = io::load_image(a.image);
  for (const heads::Click& c : q.clicks) check_inside(c, img.width, img.height);
  if (q.box) check_inside(*q.box, img.width, img.height);
  check_outputs(a);
  const std::string dir = segment_model_dir(a.model);
  const LoadedSegmenter s = load_segmenter(dir);
  if (!q.expression.empty()) check_reads_language(s, dir);
  const heads::SegmentResult r = s.segmenter->segment(img, q);
  heads::save_mask_png(a.mask, r.width, r.height, r.mask().mask);
  if (given(a.overlay_opt)) io::save_png(a.overlay, heads::mask_overlay(img, r.mask().mask));
  if (json) print_json(result_json(a, dir, q, r, s.load_ms));
  else print_result(a, r, s.load_ms);
  return 0;
}

void add_options(CLI::App* sub, Args& a) {
  a.image_opt = sub->add_option("IMAGE", a.image, "Any image file (PNG, JPEG, TIFF, WebP…)");
  a.expression_opt =
      sub->add_option("EXPRESSION", a.expression, "What to segment, in words (\"the small green dress\")");
  sub->add_option("-m,--model", a.model, "SeTokim folder with a mask decoder (default: the bundled setokim-small)");
  sub->add_option("--point", a.points,
                  "A click at pixel X,Y of the image; X,Y,neg (or X,Y,-) marks what is not wanted. Repeat for several")
      ->allow_extra_args(false);
  a.box_opt =
      sub->add_option("--box", a.box, "A box around the object: X0,Y0,X1,Y1 (pixels, top left to bottom right)");
  sub->add_flag("--click-alone", a.click_alone,
                "One --point alone: the click by itself (the best of three alternatives), not from the SeTok token "
                "under it");
  a.mask_opt = sub->add_option("--mask", a.mask, "Write the mask here: a PNG of 0/255 at the image's resolution");
  a.overlay_opt = sub->add_option("--overlay", a.overlay, "Write the image with the mask tinted over it (PNG)");
  a.refs_opt = sub->add_option("--refs", a.refs.refs, "A RefCOCO-format refs file: segment every sentence in it");
  a.images_opt = sub->add_option("--images", a.refs.images, "With --refs: the folder the refs' file_name is under");
  a.out_opt = sub->add_option("--out", a.refs.out, "With --refs: the folder for the masks, OUT/<sent_id>.png");
  a.limit_opt =
      sub->add_option("--limit", a.refs.limit, "With --refs: the first N sentences only")->check(CLI::PositiveNumber);
}

}  // namespace

Command add_segment(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("segment", "Segment what an expression, clicks or a box point at: a mask PNG");
  auto a = std::make_shared<Args>();
  add_options(sub, *a);
  sub->add_flag("--json", g.json, "Machine-readable output");
  sub->footer(
      "Forms:\n"
      "  setok segment IMAGE \"EXPRESSION\" --mask OUT.png [--overlay OUT.png]\n"
      "  setok segment IMAGE --point X,Y[,neg] … [--box X0,Y0,X1,Y1] [\"EXPRESSION\"] --mask OUT.png\n"
      "  setok segment --refs REFS.json --images DIR --out DIR [--limit N]\n"
      "One --point alone starts from the SeTok token under it (--click-alone: the click by itself).\n"
      "Coordinates are the image's pixels. With --refs, progress goes to stderr and the exit code is 1\n"
      "when any sentence failed (each is named); real RefCOCO refs find COCO's images by their own names.");
  return {sub,
          [a, &g]() {
            if (!given(a->refs_opt)) return run_single(*a, g.json);
            check_refs_form(*a);
            a->refs.model = a->model;
            a->refs.json = g.json;
            return run_segment_refs(a->refs);
          },
          true};
}

}  // namespace setok::cli
