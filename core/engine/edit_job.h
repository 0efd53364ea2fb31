#pragma once
// An edit or generation request's run on the SeTokim lane: the writer (SeTokim and its diffusion
// head, loaded on first use), then the edit or the drawing, cancellable after every token written.
// Internal to core/engine.
#include "core/engine/edit_request.h"
#include "core/engine/setokim_lane.h"
#include "core/engine/worker_lane.h"

namespace setok::engine {

void run_edit(SetokimLane& lane, WorkerLane::Job& job, EditRequest& req, const Done<EditOutcome>& done,
              const Progress& progress);

}  // namespace setok::engine
