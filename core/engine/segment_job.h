#pragma once
// A segment request's run on the SeTokim lane: the segmenter (loaded on first use), the image's
// encoding (reused by key), then the decoder. Internal to core/engine.
#include "core/engine/segment_request.h"
#include "core/engine/setokim_lane.h"
#include "core/engine/worker_lane.h"

namespace setok::engine {

void run_segment(SetokimLane& lane, WorkerLane::Job& job, SegmentRequest& req, const Done<SegmentOutcome>& done,
                 const Progress& progress);

}  // namespace setok::engine
