#include "core/data/scenes_writer.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/data/coco_rle.h"
#include "core/io/atomic_file.h"
#include "core/runtime/error.h"

namespace setok::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What one image contributes to the annotation files, built on a worker thread.
struct Record {
  json annotations = json::array(), captions = json::array(), refs = json::array(), edits = json::array();
  json llava, prompt;
  std::string background;  // plain, gradient or photo: a field of the COCO image entry
  std::int64_t objects = 0, questions = 0;
};

const char* background_name(BackgroundKind k) {
  switch (k) {
    case BackgroundKind::plain:
      return "plain";
    case BackgroundKind::gradient:
      return "gradient";
    case BackgroundKind::photo:
      return "photo";
  }
  return "plain";
}

// Ids are derived from the image id (not counted) so shards written apart never collide.
std::int64_t image_id(std::int64_t index) { return index + 1; }
std::int64_t ann_id(std::int64_t index, int k) { return image_id(index) * 10 + k; }

// The COCO annotation of object o of image `index` (px × px).
json annotation(const ObjectInfo& o, std::int64_t index, int px) {
  const Rle rle = rle_encode(o.mask, px, px);
  return {{"id", ann_id(index, o.object)},
          {"image_id", image_id(index)},
          {"category_id", o.cls + 1},
          {"segmentation", {{"size", {px, px}}, {"counts", rle_to_string(rle)}}},
          {"area", o.area},
          {"bbox", {o.bbox[0], o.bbox[1], o.bbox[2], o.bbox[3]}},
          {"iscrowd", 0},
          {"attributes",
           {{"colour", colour_name(o.colour)},
            {"size", size_name(o.size)},
            {"depth", o.object},
            {"centroid", {o.cx, o.cy}}}}};
}

// The RefCOCO-style entry of referring expression k of image `index`, shown in `file`.
json ref_entry(const ScenesWriteOptions& opt, const GeneratedScene& g, std::int64_t index, std::size_t k,
               const std::string& file) {
  const std::int64_t id = image_id(index);
  const std::int64_t ref_id = id * 10 + static_cast<std::int64_t>(k);
  json sents = json::array(), sent_ids = json::array();
  for (std::size_t s = 0; s < g.refs[k].sentences.size(); ++s) {
    const std::string& t = g.refs[k].sentences[s];
    json tokens = json::array();
    for (std::size_t a = 0, b; a < t.size(); a = b + 1) {
      b = t.find(' ', a);
      if (b == std::string::npos) b = t.size();
      tokens.push_back(t.substr(a, b - a));
    }
    const std::int64_t sid = ref_id * 10 + static_cast<std::int64_t>(s);
    sents.push_back({{"sent_id", sid}, {"sent", t}, {"raw", t}, {"tokens", tokens}});
    sent_ids.push_back(sid);
  }
  return {{"ref_id", ref_id},
          {"ann_id", ann_id(index, g.refs[k].object)},
          {"image_id", id},
          {"category_id", g.scene.objects[g.refs[k].object].cls + 1},
          {"split", split_name(opt.scene.split)},
          {"file_name", file},
          {"sentences", sents},
          {"sent_ids", sent_ids}};
}

// One conversation: a description, then every question, as LLaVA's instruction data does.
json llava_entry(const GeneratedScene& g, const std::string& stem, const std::string& file) {
  json turns = json::array();
  turns.push_back({{"from", "human"}, {"value", "<image>\nDescribe the image briefly."}});
  turns.push_back({{"from", "gpt"}, {"value", g.captions.empty() ? "" : g.captions[0]}});
  for (const QaPair& q : g.questions) {
    // "type" (not in LLaVA's format, ignored by its readers) lets `setok eval vqa` score per kind.
    turns.push_back(
        {{"from", "human"}, {"value", q.question + " Answer with a single word or number."}, {"type", q.kind}});
    turns.push_back({{"from", "gpt"}, {"value", q.answer}});
  }
  return {{"id", stem}, {"image", file}, {"conversations", turns}};
}

// Saves edit e's image and returns its InstructPix2Pix-style entry.
json write_edit(const ScenesWriteOptions& opt, const GeneratedScene& g, const SceneEdit& e, std::int64_t index,
                const std::string& stem, const std::string& file) {
  const std::string edited = "edits/" + stem + "_" + e.kind + ".png";
  io::save_png((fs::path(opt.out) / edited).string(), e.image);
  json j = {{"id", stem + "_" + e.kind},
            {"input_image", file},
            {"edit_prompt", e.instruction},
            {"edited_image", edited},
            {"original_prompt", g.prompt},
            {"edited_prompt", make_prompt(e.edited)},
            {"edit", e.kind}};
  if (e.kind != "add") j["target_ann_id"] = ann_id(index, e.target);
  return j;
}

Record build(const ScenesWriteOptions& opt, std::int64_t index) {
  const GeneratedScene g = generate_scene(opt.scene, index);
  const int px = opt.scene.px;
  const std::string stem = scene_stem(opt.scene.split, index);
  const std::string file = "images/" + stem + ".png";
  io::save_png((fs::path(opt.out) / file).string(), g.image);
  Record r;
  r.background = background_name(g.scene.background.kind);
  const std::int64_t id = image_id(index);
  for (const ObjectInfo& o : g.objects) r.annotations.push_back(annotation(o, index, px));
  r.objects = static_cast<std::int64_t>(g.objects.size());
  for (std::size_t k = 0; k < g.captions.size(); ++k)
    r.captions.push_back(
        {{"id", id * 10 + static_cast<std::int64_t>(k)}, {"image_id", id}, {"caption", g.captions[k]}});
  for (std::size_t k = 0; k < g.refs.size(); ++k) r.refs.push_back(ref_entry(opt, g, index, k, file));
  r.questions = static_cast<std::int64_t>(g.questions.size());
  r.llava = llava_entry(g, stem, file);
  r.prompt = {{"image", file}, {"prompt", g.prompt}};
  for (const SceneEdit& e : g.edits) r.edits.push_back(write_edit(opt, g, e, index, stem, file));
  return r;
}

json coco_images(const ScenesWriteOptions& opt, const std::vector<std::string>& backgrounds) {
  json images = json::array();
  for (std::int64_t i = opt.start; i < opt.start + opt.count; ++i)
    images.push_back({{"id", image_id(i)},
                      {"file_name", "images/" + scene_stem(opt.scene.split, i) + ".png"},
                      {"width", opt.scene.px},
                      {"height", opt.scene.px},
                      {"background", backgrounds[static_cast<std::size_t>(i - opt.start)]}});
  return images;
}

json coco_info(const ScenesWriteOptions& opt) {
  json info = {{"description", "SeTok Studio scenes world (docs/design/scenes.md)"},
               {"version", SETOK_VERSION},
               {"split", split_name(opt.scene.split)},
               {"seed", opt.scene.seed},
               {"size", opt.scene.px},
               {"first_index", opt.start}};
  if (opt.scene.position_questions != 1) info["position_questions"] = opt.scene.position_questions;
  if (opt.scene.where_questions != 0) info["where_questions"] = opt.scene.where_questions;
  return info;
}

void write_json(const fs::path& p, const json& j) { io::write_file_atomic(p.string(), j.dump(1) + "\n"); }

void write_jsonl(const fs::path& p, const std::vector<json>& lines) {
  std::string s;
  for (const json& l : lines) s += l.dump() + "\n";
  io::write_file_atomic(p.string(), s);
}

// Every image's record, built by opt.threads workers; reports progress, and rethrows a
// worker's failure or throws "cancelled" when the progress callback asks to stop.
std::vector<Record> build_all(const ScenesWriteOptions& opt) {
  std::vector<Record> records(static_cast<std::size_t>(opt.count));
  std::atomic<std::int64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_m;
  auto worker = [&]() {
    for (;;) {
      const std::int64_t k = next++;
      if (k >= opt.count || stop) return;
      try {
        records[k] = build(opt, opt.start + k);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_m);
        if (!failure) failure = std::current_exception();
        stop = true;
        return;
      }
      ++done;
    }
  };
  const int threads = std::max(1, std::min<int>(opt.threads, static_cast<int>(opt.count)));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  bool cancelled = false;
  while (done < opt.count && !stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (opt.progress && !opt.progress(done, opt.count)) {
      cancelled = true;
      stop = true;
    }
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (cancelled) throw Error("cancelled");
  if (opt.progress) opt.progress(done, opt.count);
  return records;
}

json coco_categories() {
  json cats = json::array();
  for (int c = 0; c < kNumClasses; ++c)
    cats.push_back({{"id", c + 1}, {"name", class_name(c)}, {"supercategory", is_shape(c) ? "shape" : "fashion"}});
  return cats;
}

// The records assembled in index order (the files do not depend on which thread made what) and
// written as the annotation files; the counts of what was written (no seconds).
ScenesWriteResult write_annotations(const ScenesWriteOptions& opt, std::vector<Record>& records) {
  ScenesWriteResult res;
  json anns = json::array(), caps = json::array(), refs = json::array(), llava = json::array();
  std::vector<json> edits, prompts;
  std::vector<std::string> backgrounds;
  for (Record& r : records) {
    backgrounds.push_back(r.background);
    for (auto& a : r.annotations) anns.push_back(std::move(a));
    for (auto& c : r.captions) caps.push_back(std::move(c));
    for (auto& x : r.refs) refs.push_back(std::move(x));
    for (auto& e : r.edits) edits.push_back(std::move(e));
    llava.push_back(std::move(r.llava));
    prompts.push_back(std::move(r.prompt));
    res.objects += r.objects;
    res.questions += r.questions;
  }
  res.images = opt.count;
  res.edits = static_cast<std::int64_t>(edits.size());
  res.refs = static_cast<std::int64_t>(refs.size());
  const json cats = coco_categories();
  const fs::path a = fs::path(opt.out) / "annotations";
  const std::string split = split_name(opt.scene.split);
  const json images = coco_images(opt, backgrounds);
  write_json(a / ("instances_" + split + ".json"), {{"info", coco_info(opt)},
                                                    {"licenses", json::array()},
                                                    {"images", images},
                                                    {"annotations", anns},
                                                    {"categories", cats}});
  write_json(a / ("captions_" + split + ".json"),
             {{"info", coco_info(opt)}, {"licenses", json::array()}, {"images", images}, {"annotations", caps}});
  write_json(a / ("refs_" + split + ".json"), refs);
  write_json(a / ("llava_" + split + ".json"), llava);
  write_jsonl(a / ("edits_" + split + ".jsonl"), edits);
  write_jsonl(a / ("prompts_" + split + ".jsonl"), prompts);
  return res;
}

}  // namespace

std::string scene_stem(Split split, std::int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "_%07lld", static_cast<long long>(index));
  return split_name(split) + std::string(buf);
}

ScenesWriteResult write_scenes(const ScenesWriteOptions& opt) {
  if (opt.count < 1) throw Error("--count must be at least 1");
  if (opt.start < 0) throw Error("--start must not be negative");
  const auto t0 = std::chrono::steady_clock::now();
  for (const char* sub : {"images", "edits", "annotations"}) {
    std::error_code ec;
    fs::create_directories(fs::path(opt.out) / sub, ec);
    if (ec) throw Error(opt.out + "/" + sub + ": cannot create (" + ec.message() + ")");
  }
  // Fail on missing assets here, once, rather than on every worker.
  generate_scene(opt.scene, opt.start);
  std::vector<Record> records = build_all(opt);
  ScenesWriteResult res = write_annotations(opt, records);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace setok::data
