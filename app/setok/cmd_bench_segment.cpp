// setok bench segment IMAGE: what a user of the Segment tool waits for, median after warm-up: the
// image's encoding (the first click on a new image waits for it), a click with the encoding cached,
// a hover preview (one click, no previous mask, the shown mask only), a refining click (three clicks and the previous
// mask; zoomed in on a crop where its mask is small enough: the crop's features cached, then a new crop,
// then the whole image) and an expression (the language model over the request, then the decoder).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "app/setok/bench_timing.h"
#include "app/setok/command.h"
#include "core/heads/segmenter.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/setok_model.h"

namespace setok::cli {
Command add_bench_segment(CLI::App& app, Globals& g) {
  CLI::App* bench = app.get_subcommand("bench");
  auto* sub = bench->add_subcommand("segment", "Segment tool latency: encode, click, hover, refine, expression");
  struct Args {
    std::string image, model, expression = "the object in the middle";
    int repeats = 20, warmup = 3;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("image", a->image, "An image file")->required();
  sub->add_option("-m,--model", a->model, "SeTokim folder with a mask decoder (default: the bundled one)");
  sub->add_option("--expression", a->expression, "The referring expression timed");
  sub->add_option("--repeats", a->repeats, "Timed runs (the median is reported)")->check(CLI::Range(1, 100000));
  sub->add_option("--warmup", a->warmup, "Untimed runs first")->check(CLI::Range(0, 1000));
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub,
          [&g, a]() {
            const io::Image img = io::load_image(a->image);
            const std::string dir = a->model.empty() ? tokenizer::default_setokim_model() : a->model;
            auto t0 = std::chrono::steady_clock::now();
            auto seg = heads::Segmenter::load(dir);
            const double load_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            std::shared_ptr<const heads::EncodedImage> enc;
            const double encode = median_ms([&] { enc = seg->encode(img); }, a->warmup, a->repeats);
            const float cx = img.width * 0.5f, cy = img.height * 0.5f;
            heads::SegmentQuery click;
            click.clicks = {{cx, cy, true}};
            heads::SegmentResult first;
            const double click1_ms = median_ms([&] { first = seg->segment(*enc, click); }, a->warmup, a->repeats);
            heads::SegmentQuery hover = click;
            hover.best_only = true;  // as the studio asks a preview
            const double hover_ms = median_ms([&] { seg->segment(*enc, hover); }, a->warmup, a->repeats);
            heads::SegmentQuery refine = click;
            refine.clicks.push_back({cx + img.width * 0.1f, cy, true});
            refine.clicks.push_back({cx - img.width * 0.1f, cy - img.height * 0.1f, false});
            refine.previous = first.low_res;
            bool zoomed = false;  // whether the refining click looked at a crop (zoom_in.h)
            const double click_ms =
                median_ms([&] { zoomed = seg->segment(*enc, refine).zoom[2] > 0; }, a->warmup, a->repeats);
            // A new crop (the mask's box moved): two refining clicks whose crops differ, in turn.
            heads::SegmentQuery other = refine;
            other.clicks.back() = {cx + img.width * 0.15f, cy + img.height * 0.15f, false};
            std::vector<double> crop_ms;
            for (int i = 0; i < 2 * (a->warmup + a->repeats); ++i) {
              const heads::SegmentResult r = seg->segment(*enc, i % 2 ? other : refine);
              if (r.ms.encode_ms > 0 && i >= 2 * a->warmup) crop_ms.push_back(r.ms.total_ms);
            }
            std::sort(crop_ms.begin(), crop_ms.end());
            const double new_crop_ms = crop_ms.empty() ? -1 : crop_ms[crop_ms.size() / 2];
            heads::SegmentQuery whole = refine;
            whole.zoom = false;
            const double whole_ms = median_ms([&] { seg->segment(*enc, whole); }, a->warmup, a->repeats);
            double expr_ms = -1;
            if (seg->reads_language()) {
              heads::SegmentQuery q;
              q.expression = a->expression;
              expr_ms = median_ms([&] { seg->segment(*enc, q); }, a->warmup, a->repeats);
            }
            const double rss = static_cast<double>(peak_resident_bytes()) / 1048576.0;
            nlohmann::json j{{"image", a->image},
                             {"width", img.width},
                             {"height", img.height},
                             {"model", dir},
                             {"load_ms", load_ms},
                             {"encode_ms", encode},
                             {"hover_ms", hover_ms},
                             {"click_ms", click_ms},
                             {"click_zoomed", zoomed},
                             {"click_new_crop_ms", new_crop_ms < 0 ? nlohmann::json() : nlohmann::json(new_crop_ms)},
                             {"click_whole_image_ms", whole_ms},
                             {"expression_ms", expr_ms},
                             {"peak_rss_mib", rss},
                             {"threads", intra_op_threads()},
                             {"first_click_ms", encode + click1_ms}};
            if (g.json) {
              std::printf("%s\n", j.dump(2).c_str());
            } else {
              std::printf("encode %.1f ms | hover %.1f ms | click (refine%s) %.1f ms | expression %.1f ms\n", encode,
                          hover_ms, zoomed ? ", zoomed in" : "", click_ms, expr_ms);
              if (new_crop_ms < 0)
                std::printf(
                    "the refining click did not zoom in (its mask and clicks fill most of the image); "
                    "on the whole image %.1f ms\n",
                    whole_ms);
              else
                std::printf("the refining click on a new crop %.1f ms, on the whole image (no zoom) %.1f ms\n",
                            new_crop_ms, whole_ms);
              std::printf("first click on a new image %.1f ms; model load %.0f ms; peak RSS %.0f MiB\n",
                          encode + click1_ms, load_ms, rss);
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
