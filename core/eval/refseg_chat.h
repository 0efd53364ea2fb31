#pragma once
// The chat side of `setok eval refseg` (Stage II, paper §2.2): each sentence asked in a chat, in one
// of the referring wordings (mllm/referring_wording.h; sentence n in wording n mod their count), and
// scored as a user of the chat gets it: the model must answer [SEG], and the mask that stands for
// it (the segmenter's over the question as asked) is compared with the object's. A sentence the model
// does not answer with [SEG] counts as an empty mask. Greedy answers of at most 4 tokens.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/refcoco.h"
#include "core/eval/refseg_metrics.h"
#include "core/heads/segmenter.h"
#include "core/io/image.h"
#include "core/mllm/chat_session.h"

namespace setok::eval {

class ChatSegmentScore {
 public:
  explicit ChatSegmentScore(const heads::Segmenter& seg);
  // Whether the segmenter's SeTokim has the [SEG] token (else there is nothing to score).
  bool model_has_seg() const { return has_seg_; }
  // One image (encoded by `seg`) and its sentences with their objects' masks.
  void run_image(const io::Image& img, const heads::EncodedImage& enc,
                 const std::vector<std::pair<const data::RefSentence*, const std::vector<std::uint8_t>*>>& sentences);
  // {"asked", "seg_answers", "seg_rate", "gIoU", "cIoU", "by_wording": [{"wording", "asked", "seg_rate"}]}.
  nlohmann::json report() const;

 private:
  const heads::Segmenter& seg_;
  bool has_seg_ = false;
  mllm::ChatSession session_;
  const heads::EncodedImage* enc_ = nullptr;  // the image being asked about
  ReferringAccumulator scores_;
  std::vector<std::int64_t> asked_, answered_;  // per wording: asked, answered [SEG]
};

}  // namespace setok::eval
