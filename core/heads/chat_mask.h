#pragma once
// What a chat's [SEG] answer stands for (paper §2.2): the mask decoder beside the chat's SeTokim
// draws the user's question over the image. Shared by the engine's chat and `setok chat`.
#include <memory>

#include "core/mllm/chat_session.h"
#include "core/mllm/loaded_setokim.h"

namespace setok::heads {

struct SegmentResult;

// The result's shown mask as a chat turn carries it.
mllm::ChatMask chat_mask_of(const SegmentResult& r);

// A ChatSession::SegmentFn over `model`: its folder's mask decoder, loaded on the first [SEG]
// answer and kept. Throws setok::Error "<folder> has no mask decoder" when it has none.
mllm::ChatSession::SegmentFn chat_segmenter(std::shared_ptr<const mllm::LoadedSetokim> model);

}  // namespace setok::heads
