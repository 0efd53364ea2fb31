#include "app/setok/segment_refs.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <new>
#include <vector>

#include "app/setok/command.h"
#include "app/setok/ref_jobs.h"
#include "app/setok/segment_model.h"
#include "app/setok/segment_output.h"
#include "core/io/image.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Outcome {
  RefSentenceJob job;
  std::string image, mask, error;  // error empty: the mask was written
  heads::MaskCandidate best;       // without its pixels
  double ms = 0;
};

struct Totals {
  double load_model_ms = 0, encode_ms = 0, run_ms = 0;
  std::size_t images = 0;
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Progress on stderr: a line that rewrites itself on a terminal, a line per tenth in a log.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), tty_(::isatty(2) != 0) {}
  void step() {
    ++done_;
    if (tty_) {
      std::fprintf(stderr, "\rsegment: %zu/%zu sentences", done_, total_);
      on_screen_ = true;
    } else if (done_ * 10 / total_ != last_tenth_) {
      last_tenth_ = done_ * 10 / total_;
      std::fprintf(stderr, "segment: %zu/%zu sentences\n", done_, total_);
    }
  }
  void failed(const Outcome& o) {
    end_line();
    std::fprintf(stderr, "segment: sent_id %lld (%s): %s\n", static_cast<long long>(o.job.sent_id), o.image.c_str(),
                 o.error.c_str());
  }
  void end_line() {
    if (on_screen_) std::fputc('\n', stderr);
    on_screen_ = false;
  }

 private:
  std::size_t total_, done_ = 0, last_tenth_ = 0;
  bool tty_, on_screen_ = false;
};

void segment_sentence(const heads::Segmenter& seg, const heads::EncodedImage& image, const std::string& out,
                      Outcome& o) {
  if (o.job.sentence.find_first_not_of(" \t\r\n") == std::string::npos) {
    o.error = "empty sentence";
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    heads::SegmentQuery q;
    q.expression = o.job.sentence;
    const heads::SegmentResult r = seg.segment(image, q);
    const std::string path = (fs::path(out) / (std::to_string(o.job.sent_id) + ".png")).string();
    heads::save_mask_png(path, r.width, r.height, r.mask().mask);
    o.mask = path;
    o.best = {{}, r.mask().predicted_iou, r.mask().area, r.mask().bbox};
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    o.error = first_line(e.what());
  }
  o.ms = ms_since(t0);
}

// One image: read and encoded once, then every sentence about it.
void segment_image(const heads::Segmenter& seg, const RefImageJobs& g, const std::string& out,
                   std::vector<Outcome>& outcomes, Totals& totals, Progress& progress) {
  std::shared_ptr<const heads::EncodedImage> encoded;
  std::string failed;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    encoded = seg.encode(io::load_image(g.path));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    failed = first_line(e.what());
  }
  totals.encode_ms += ms_since(t0);
  for (const RefSentenceJob& job : g.sentences) {
    Outcome o{job, g.path, "", failed, {}, 0};
    if (failed.empty()) segment_sentence(seg, *encoded, out, o);
    if (!o.error.empty()) progress.failed(o);
    outcomes.push_back(std::move(o));
    progress.step();
  }
}

nlohmann::json summary_json(const SegmentRefsOptions& opt, const std::string& model,
                            const std::vector<Outcome>& outcomes, const Totals& t) {
  nlohmann::json done = nlohmann::json::array(), failures = nlohmann::json::array();
  for (const Outcome& o : outcomes) {
    nlohmann::json j = {
        {"sent_id", o.job.sent_id}, {"ref_id", o.job.ref_id}, {"image", o.image}, {"sentence", o.job.sentence}};
    if (!o.error.empty()) {
      j["error"] = o.error;
      failures.push_back(j);
      continue;
    }
    j.update(candidate_json(o.best));
    j["mask"] = o.mask;
    j["ms"] = o.ms;
    done.push_back(j);
  }
  const double n = static_cast<double>(outcomes.size());
  return {{"refs", opt.refs},
          {"images_dir", opt.images},
          {"out", opt.out},
          {"model", model},
          {"count", outcomes.size()},
          {"images", t.images},
          {"written", done.size()},
          {"failed", failures.size()},
          {"ms_per_sentence", n > 0 ? t.run_ms / n : 0.0},
          {"ms", {{"load_model", t.load_model_ms}, {"encode", t.encode_ms}, {"total", t.run_ms}}},
          {"failures", failures},
          {"sentences", done}};
}

void print_summary(const SegmentRefsOptions& opt, std::size_t count, std::size_t failed, const Totals& t) {
  const double per_image = t.images > 0 ? t.encode_ms / static_cast<double>(t.images) : 0.0;
  std::printf("%zu masks in %s for %zu sentences about %zu images (%zu failed): %.1f ms per sentence", count - failed,
              opt.out.c_str(), count, t.images, failed, count > 0 ? t.run_ms / static_cast<double>(count) : 0.0);
  std::printf(" (encoding %.1f ms per image; model loaded in %.0f ms)\n", per_image, t.load_model_ms);
}

}  // namespace

int run_segment_refs(const SegmentRefsOptions& o) {
  const std::vector<RefImageJobs> groups = plan_ref_jobs(o.refs, o.images, o.limit);
  check_output_dir(o.out, "--out");
  const std::string dir = segment_model_dir(o.model);
  Totals t;
  const LoadedSegmenter s = load_segmenter(dir);
  check_reads_language(s, dir);
  make_output_dir(o.out, "--out");
  t.load_model_ms = s.load_ms;
  t.images = groups.size();
  std::size_t total = 0;
  for (const RefImageJobs& g : groups) total += g.sentences.size();
  std::vector<Outcome> outcomes;
  outcomes.reserve(total);
  Progress progress(total);
  const auto t0 = std::chrono::steady_clock::now();
  for (const RefImageJobs& g : groups) segment_image(*s.segmenter, g, o.out, outcomes, t, progress);
  t.run_ms = ms_since(t0);
  progress.end_line();
  std::size_t failed = 0;
  const Outcome* first_failure = nullptr;
  for (const Outcome& x : outcomes)
    if (!x.error.empty() && failed++ == 0) first_failure = &x;
  if (o.json) print_json(summary_json(o, dir, outcomes, t));
  else print_summary(o, outcomes.size(), failed, t);
  if (!first_failure) return 0;
  std::fprintf(stderr, "setok: %zu of %zu sentences failed (the first, sent_id %lld: %s)\n", failed, outcomes.size(),
               static_cast<long long>(first_failure->job.sent_id), first_failure->error.c_str());
  return 1;
}

}  // namespace setok::cli
