#pragma once
// A chat request's run on the SeTokim lane: one step of a conversation kept in the lane, its answer
// streamed piece by piece. Internal to core/engine.
#include "core/engine/chat_request.h"
#include "core/engine/setokim_lane.h"
#include "core/engine/worker_lane.h"

namespace setok::engine {

// Cancelling stops an answer at its next piece, even one that has not started yet: the question
// stays in the conversation, its answer marked stopped (the Chat panel's Stop). Steps without an
// answer run whatever cancel says, unless the engine is shutting down.
void run_chat(SetokimLane& lane, WorkerLane::Job& job, ChatRequest& req, const Done<ChatOutcome>& done,
              const ChatStream& stream);

}  // namespace setok::engine
