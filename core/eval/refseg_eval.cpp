#include "core/eval/refseg_eval.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/data/coco.h"
#include "core/data/refcoco.h"
#include "core/engine/engine.h"
#include "core/eval/click_simulator.h"
#include "core/eval/expression_kind.h"
#include "core/eval/refseg_chat.h"
#include "core/eval/refseg_metrics.h"
#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

fs::path split_file(const RefsegEvalOptions& o, const char* prefix) {
  return fs::path(o.data_dir) / "annotations" / (std::string(prefix) + "_" + o.split + ".json");
}

// One image's refs and the distinct objects they point to (refs[i] points to objects[object_of[i]]).
struct ImageRefs {
  std::size_t image = 0;  // index into CocoInstances::images
  std::vector<std::size_t> refs, objects, object_of;
};

struct Split {
  std::vector<data::Ref> refs;
  data::CocoInstances instances;
  std::vector<ImageRefs> images;  // in the order the refs first show them
  bool scenes_world = false;      // the instances carry the world's attributes: sentences have kinds
};

// Attaches ref r to its image's group and its object, in first-seen order.
void group_ref(Split& s, std::size_t r, const std::map<std::int64_t, std::size_t>& image_of,
               const std::map<std::int64_t, std::size_t>& ann_of, std::map<std::int64_t, std::size_t>& group_of) {
  const data::Ref& ref = s.refs[r];
  const auto ann = ann_of.find(ref.ann_id);
  if (ann == ann_of.end())
    throw Error("ref " + std::to_string(ref.ref_id) + " points to annotation " + std::to_string(ref.ann_id) +
                ", which the instances file does not have");
  const std::int64_t image_id = s.instances.annotations[ann->second].image_id;
  const auto im = image_of.find(image_id);
  if (im == image_of.end())
    throw Error("annotation " + std::to_string(ref.ann_id) + " is on image " + std::to_string(image_id) +
                ", which the instances file does not have");
  auto [g, fresh] = group_of.emplace(image_id, s.images.size());
  if (fresh) s.images.push_back({im->second, {}, {}, {}});
  ImageRefs& group = s.images[g->second];
  std::size_t k = 0;
  while (k < group.objects.size() && group.objects[k] != ann->second) ++k;
  if (k == group.objects.size()) group.objects.push_back(ann->second);
  group.refs.push_back(r);
  group.object_of.push_back(k);
}

Split read_split(const RefsegEvalOptions& o) {
  check_refseg_split(o);
  Split s;
  s.refs = data::read_refs(split_file(o, "refs").string());
  if (o.limit > 0 && static_cast<std::int64_t>(s.refs.size()) > o.limit) s.refs.resize(o.limit);
  if (s.refs.empty()) throw Error(split_file(o, "refs").string() + ": no refs");
  s.instances = data::read_coco_instances(split_file(o, "instances").string());
  std::map<std::int64_t, std::size_t> image_of, ann_of, group_of;
  for (std::size_t i = 0; i < s.instances.images.size(); ++i) image_of[s.instances.images[i].id] = i;
  for (std::size_t i = 0; i < s.instances.annotations.size(); ++i) {
    ann_of[s.instances.annotations[i].id] = i;
    s.scenes_world = s.scenes_world || !s.instances.annotations[i].colour.empty();
  }
  for (std::size_t r = 0; r < s.refs.size(); ++r) group_ref(s, r, image_of, ann_of, group_of);
  return s;
}

io::Image load_split_image(const RefsegEvalOptions& o, const data::CocoImage& im) {
  const fs::path root(o.data_dir);
  for (const fs::path& p : {root / im.file_name, root / "images" / im.file_name})
    if (fs::exists(p)) {
      io::Image img = io::load_image(p.string());
      if ((im.width && im.width != img.width) || (im.height && im.height != img.height))
        throw Error(p.string() + " is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                    ", its annotations say " + std::to_string(im.width) + "x" + std::to_string(im.height));
      return img;
    }
  throw Error("image " + im.file_name + " not found under " + o.data_dir);
}

// Milliseconds over some calls; the mean is null before the first.
struct Timing {
  double ms = 0;
  std::int64_t count = 0;
  nlohmann::json mean() const { return count ? nlohmann::json(ms / static_cast<double>(count)) : nlohmann::json(); }
};

// The facade's clicks are continuous pixel coordinates: a simulated click sits at its pixel's centre.
heads::Click to_query_click(const SimulatedClick& c) {
  return {static_cast<float>(c.x) + 0.5f, static_cast<float>(c.y) + 0.5f, c.positive};
}

}  // namespace

namespace {

// One evaluation: the accumulators, the timings, and the tokenizer for best_token.
class RefsegRun {
 public:
  RefsegRun(const heads::Segmenter& seg, const RefsegEvalOptions& o)
      : seg_(seg), o_(o), language_(o.language && seg.reads_language()), curve_(o.max_clicks) {
    if (!language_ && !o.clicks && !o.best_token)
      throw Error(o.language ? "nothing to evaluate: the segmenter does not read language and clicks are off"
                             : "nothing to evaluate: language, clicks and best token are all off");
    if (o.best_token) {
      engine::EngineOptions eo;
      eo.model_dir = o.token_model;
      eo.background_priority = false;
      engine_ = std::make_unique<engine::Engine>(eo);
    }
    if (o.chat && seg.reads_language()) chat_ = std::make_unique<ChatSegmentScore>(seg);
  }

  void run_image(const Split& s, const ImageRefs& group) {
    const data::CocoImage& im = s.instances.images[group.image];
    const io::Image img = load_split_image(o_, im);
    std::vector<std::vector<std::uint8_t>> truths;
    for (std::size_t a : group.objects)
      truths.push_back(data::annotation_mask(s.instances.annotations[a], img.height, img.width));
    ++images_;
    std::vector<nlohmann::json> rec = object_records(s, group, im, truths);
    if (o_.best_token) best_tokens(img, truths, rec);
    if (!language_ && !o_.clicks && !chat_) return;
    const auto t0 = Clock::now();
    const std::shared_ptr<const heads::EncodedImage> enc = seg_.encode(img);
    encode_ms_.ms += ms_since(t0);
    ++encode_ms_.count;
    if (language_)
      for (std::size_t i = 0; i < group.refs.size(); ++i)
        referring(*enc, truths[group.object_of[i]], s.refs[group.refs[i]], s.scenes_world,
                  rec[group.object_of[i]]["sentences"]);
    if (chat_ && chat_->model_has_seg()) {
      std::vector<std::pair<const data::RefSentence*, const std::vector<std::uint8_t>*>> sentences;
      for (std::size_t i = 0; i < group.refs.size(); ++i)
        for (const auto& sent : s.refs[group.refs[i]].sentences)
          sentences.emplace_back(&sent, &truths[group.object_of[i]]);
      chat_->run_image(img, *enc, sentences);
    }
    if (o_.clicks)
      for (std::size_t k = 0; k < group.objects.size(); ++k) {
        std::vector<double> ious;
        try {
          ious = click_curve(*enc, truths[k], img.width, img.height);
        } catch (const Error& e) {
          throw Error("clicks on annotation " + std::to_string(s.instances.annotations[group.objects[k]].id) + ": " +
                      e.what());
        }
        if (ious.empty()) ++empty_objects_;  // nothing to click on
        else curve_.add(ious);
        rec[k]["clicks"] = ious;
      }
    for (auto& r : rec) objects_.push_back(std::move(r));
  }

  // The per-object lines (RefsegEvalOptions::per_object), in the order the objects were scored.
  const std::vector<nlohmann::json>& objects() const { return objects_; }

  nlohmann::json report(const Split& s) const {
    nlohmann::json j = {{"split", o_.split},
                        {"images", images_},
                        {"refs", static_cast<std::int64_t>(s.refs.size())},
                        {"sentences", sentences_}};
    j["referring"] = referring_report(s.scenes_world);
    j["clicks"] = clicks_report();
    j["best_token"] = best_token_report();
    j["chat"] = !o_.chat                  ? nlohmann::json{{"skipped", "not asked for"}}
                : !chat_                  ? nlohmann::json{{"skipped", "the decoder does not read language"}}
                : !chat_->model_has_seg() ? nlohmann::json{{"skipped", "the SeTokim has no [SEG] token (no Stage II)"}}
                                          : chat_->report();
    const Timing all{expression_ms_.ms + click_ms_.ms, expression_ms_.count + click_ms_.count};
    j["ms_per_query"] = all.mean();
    j["ms_per_expression"] = expression_ms_.mean();
    j["ms_per_click"] = click_ms_.mean();
    j["ms_per_encode"] = encode_ms_.mean();
    j["seconds"] = ms_since(t0_) / 1000.0;
    return j;
  }

 private:
  heads::SegmentResult query(const heads::EncodedImage& enc, const heads::SegmentQuery& q) {
    const auto t0 = Clock::now();
    heads::SegmentResult r = seg_.segment(enc, q);
    const double ms = ms_since(t0);
    Timing& t = q.expression.empty() ? click_ms_ : expression_ms_;
    t.ms += ms;
    ++t.count;
    return r;
  }

  // One record per object of the image: where it is and how large, before any figure joins it.
  std::vector<nlohmann::json> object_records(const Split& s, const ImageRefs& group, const data::CocoImage& im,
                                             const std::vector<std::vector<std::uint8_t>>& truths) const {
    std::vector<nlohmann::json> rec;
    for (std::size_t k = 0; k < group.objects.size(); ++k) {
      std::int64_t area = 0;
      for (std::uint8_t v : truths[k]) area += v != 0;
      rec.push_back({{"image", im.file_name},
                     {"ann_id", s.instances.annotations[group.objects[k]].id},
                     {"area", area},
                     {"sentences", nlohmann::json::array()}});
    }
    return rec;
  }

  void referring(const heads::EncodedImage& enc, const std::vector<std::uint8_t>& truth, const data::Ref& ref,
                 bool with_kinds, nlohmann::json& sentences) {
    std::vector<std::string> texts;
    for (const auto& sent : ref.sentences) texts.push_back(sent.sent);
    const auto kinds =
        with_kinds ? scenes_expression_kinds(texts) : std::vector<std::vector<std::string>>(texts.size());
    for (std::size_t k = 0; k < texts.size(); ++k) {
      heads::SegmentQuery q;
      q.expression = texts[k];
      try {
        const heads::SegmentResult r = query(enc, q);
        const MaskOverlap overlap = mask_overlap(r.mask().mask, truth);
        referring_.add(overlap, kinds[k]);
        sentences.push_back(
            {{"sent", texts[k]}, {"kinds", kinds[k]}, {"iou", overlap.iou()}, {"mask_area", r.mask().area}});
      } catch (const Error& e) {
        throw Error("ref " + std::to_string(ref.ref_id) + ", \"" + texts[k] + "\": " + e.what());
      }
      ++sentences_;
    }
  }

  // RITM's protocol: the IoU after each click, stopping early once the mask is exact.
  std::vector<double> click_curve(const heads::EncodedImage& enc, const std::vector<std::uint8_t>& truth, int width,
                                  int height) {
    std::vector<double> ious;
    heads::SegmentQuery q;
    q.token_under_click = o_.token_under_click;
    q.zoom = o_.zoom;
    std::optional<SimulatedClick> click = interior_click(truth, width, height);
    while (click && static_cast<int>(ious.size()) < o_.max_clicks) {
      q.clicks.push_back(to_query_click(*click));
      const heads::SegmentResult r = query(enc, q);
      ious.push_back(mask_overlap(r.mask().mask, truth).iou());
      if (ious.size() == 1) {  // the first click the other way, for the comparison
        heads::SegmentQuery other = q;
        other.token_under_click = !q.token_under_click;
        other_first_iou_ += mask_overlap(seg_.segment(enc, other).mask().mask, truth).iou();
        ++other_first_count_;
      }
      q.previous = r.low_res;
      if (static_cast<int>(ious.size()) < o_.max_clicks) click = next_click(truth, r.mask().mask, width, height);
    }
    return ious;
  }

  void best_tokens(const io::Image& img, const std::vector<std::vector<std::uint8_t>>& truths,
                   std::vector<nlohmann::json>& rec) {
    engine::TokenizeRequest req;
    req.image = img;
    req.pixel_edges = true;
    const engine::TokenizeResult r = engine_->run(std::move(req));
    if (!r.ok()) throw Error("best token: " + (r.error.empty() ? std::string(engine::to_string(r.status)) : r.error));
    token_model_ = r.model_name;
    token_model_trained_ = r.trained;
    tokens_ += static_cast<std::int64_t>(r.tokens.size());
    for (std::size_t k = 0; k < truths.size(); ++k) {
      const double iou = best_token(r.map, truths[k]).iou;
      best_token_iou_ += iou;
      ++best_token_objects_;
      rec[k]["best_token"] = iou;
    }
  }

  nlohmann::json referring_report(bool scenes_world) const;
  nlohmann::json clicks_report() const;
  nlohmann::json best_token_report() const;

  const heads::Segmenter& seg_;
  const RefsegEvalOptions& o_;
  const bool language_;
  Clock::time_point t0_ = Clock::now();
  ReferringAccumulator referring_;
  ClickCurveAccumulator curve_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<ChatSegmentScore> chat_;
  std::string token_model_;
  bool token_model_trained_ = false;
  Timing expression_ms_, click_ms_, encode_ms_;
  double other_first_iou_ = 0;  // the first click the other way (token under it / alone), summed
  std::int64_t other_first_count_ = 0;
  std::int64_t images_ = 0, sentences_ = 0, empty_objects_ = 0, tokens_ = 0, best_token_objects_ = 0;
  double best_token_iou_ = 0;
  std::vector<nlohmann::json> objects_;
};

nlohmann::json RefsegRun::referring_report(bool scenes_world) const {
  if (!o_.language) return {{"skipped", "not asked for"}};
  if (!language_)
    return {{"skipped", "the segmenter's decoder was trained without the language model's prompts (clicks only)"}};
  nlohmann::json j;
  for (const char* kind : {"all", kShortestExpression, kFullExpression, kRegionExpression, kPositionExpression}) {
    const ReferringScores r = referring_.scores(kind);
    j[kind] = {{"cIoU", number_or_null(r.ciou)}, {"gIoU", number_or_null(r.giou)}, {"count", r.count}};
  }
  j["kinds"] = scenes_world ? "the scenes world's sentence order (core/eval/expression_kind.h)"
                            : "none: not the scenes world, every sentence counts in \"all\" only";
  return j;
}

nlohmann::json RefsegRun::clicks_report() const {
  if (!o_.clicks) return {{"skipped", "not asked for"}};
  nlohmann::json curve = nlohmann::json::array();
  if (curve_.objects() > 0)
    for (double v : curve_.mean_curve()) curve.push_back(v);
  const double other = other_first_count_ ? other_first_iou_ / static_cast<double>(other_first_count_) : kNaN;
  return {{"objects", curve_.objects()},
          {"empty_objects", empty_objects_},
          {"first_click", o_.token_under_click ? "token under it" : "alone"},
          {"mIoU@1_other", number_or_null(other)},
          {"mIoU@1", number_or_null(curve_.mean_iou_after(1))},
          {"mIoU@3", number_or_null(o_.max_clicks >= 3 ? curve_.mean_iou_after(3) : kNaN)},
          {"mIoU@5", number_or_null(o_.max_clicks >= 5 ? curve_.mean_iou_after(5) : kNaN)},
          {"NoC@85", number_or_null(curve_.noc(0.85))},
          {"NoC@90", number_or_null(curve_.noc(0.90))},
          {"never_reach_90", number_or_null(curve_.never_reached(0.90))},
          {"max_clicks", o_.max_clicks},
          {"curve", curve}};
}

nlohmann::json RefsegRun::best_token_report() const {
  if (!o_.best_token) return {{"skipped", "not asked for"}};
  const double objects = static_cast<double>(best_token_objects_);
  return {{"objects", best_token_objects_},
          {"mIoU", best_token_objects_ ? number_or_null(best_token_iou_ / objects) : nlohmann::json()},
          {"tokens_per_image", images_ ? number_or_null(static_cast<double>(tokens_) / images_) : nlohmann::json()},
          {"tokenizer",
           {{"model", token_model_},
            {"folder", o_.token_model.empty() ? "the engine's default (the bundled SeTok)" : o_.token_model},
            {"trained", token_model_trained_},
            {"token_map", "pixel edges (TokenizeRequest::pixel_edges)"}}}};
}

}  // namespace

void check_refseg_split(const RefsegEvalOptions& o) {
  for (const char* prefix : {"refs", "instances"}) {
    const fs::path p = split_file(o, prefix);
    if (!fs::exists(p)) throw Error(p.string() + ": no such split in " + o.data_dir);
  }
  if (o.max_clicks < 1) throw Error("max clicks must be at least 1, not " + std::to_string(o.max_clicks));
  if (!o.per_object.empty()) {
    const fs::path dir = fs::absolute(o.per_object).parent_path();
    if (!fs::is_directory(dir)) throw Error(o.per_object + ": no such folder " + dir.string());
  }
}

nlohmann::json evaluate_refseg(const heads::Segmenter& seg, const RefsegEvalOptions& o) {
  const Split s = read_split(o);
  RefsegRun run(seg, o);
  for (std::size_t i = 0; i < s.images.size(); ++i) {
    run.run_image(s, s.images[i]);
    if (o.progress && !o.progress(static_cast<float>(i + 1) / static_cast<float>(s.images.size())))
      throw Error("cancelled");
  }
  if (!o.per_object.empty()) {
    std::string lines;
    for (const auto& r : run.objects()) lines += r.dump() + "\n";
    io::write_file_atomic(o.per_object, lines);
  }
  return run.report(s);
}

}  // namespace setok::eval
