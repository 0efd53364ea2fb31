#include "core/engine/segment_job.h"

#include <string>

#include "core/engine/job_support.h"
#include "core/runtime/error.h"

namespace setok::engine {
namespace {

// The image's encoding: the one kept under its key, else encoded now (and kept).
EncodedImages::Entry encoding_for(SetokimLane& lane, const heads::Segmenter& seg, const SegmentRequest& req,
                                  double* encode_ms) {
  if (auto e = lane.encoded().find(req.image_key)) return *e;
  if (req.image.empty())
    throw Error(req.image_key ? "image " + std::to_string(req.image_key) + " is not encoded: send the image again"
                              : std::string("the image is empty"));
  const auto t0 = detail::Clock::now();
  EncodedImages::Entry e{req.image_key, req.image.width, req.image.height, seg.encode(req.image)};
  *encode_ms = detail::ms_since(t0);
  lane.encoded().put(e);
  return e;
}

}  // namespace

void run_segment(SetokimLane& lane, WorkerLane::Job& job, SegmentRequest& req, const Done<SegmentOutcome>& done,
                 const Progress& progress) {
  SegmentOutcome r;
  r.id = req.id;
  r.image_key = req.image_key;
  if (job.superseded) {
    r.status = Status::kSuperseded;
    return detail::deliver(done, std::move(r));
  }
  const auto t0 = detail::Clock::now();
  auto stage = detail::stage_check(job, progress);
  detail::fail(r, [&] {
    stage(0.0f);
    const heads::Segmenter& seg = lane.segmenter(&r.load_model_ms);
    r.model_name = lane.dir();
    stage(0.2f);
    double encode_ms = 0;
    const EncodedImages::Entry e = encoding_for(lane, seg, req, &encode_ms);
    stage(0.6f);
    if (!req.encode_only) r.result = seg.segment(*e.image, req.query);
    r.result.width = e.width;
    r.result.height = e.height;
    r.result.ms.encode_ms = encode_ms;
    r.result.ms.total_ms = detail::ms_since(t0);
    stage(1.0f);
  });
  if (!r.ok()) {  // a failed or cancelled outcome carries no half-made masks
    SegmentOutcome e;
    e.id = r.id, e.image_key = r.image_key, e.status = r.status, e.error = r.error;
    e.load_model_ms = r.load_model_ms, e.model_name = r.model_name;
    r = std::move(e);
  }
  detail::deliver(done, std::move(r));
}

}  // namespace setok::engine
