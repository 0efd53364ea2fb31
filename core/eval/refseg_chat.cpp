#include "core/eval/refseg_chat.h"

#include "core/heads/chat_mask.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/referring_wording.h"
#include "core/mllm/setokim.h"

namespace setok::eval {

ChatSegmentScore::ChatSegmentScore(const heads::Segmenter& seg)
    : seg_(seg),
      session_(seg.shared_model()),
      asked_(mllm::referring_wordings().size(), 0),
      answered_(mllm::referring_wordings().size(), 0) {
  has_seg_ = seg.model().tokenizer().has_seg_token(seg.model().model()->config().text.vocab_size);
  session_.set_segmenter([this](const io::Image&, const std::string& request) {
    heads::SegmentQuery q;
    q.request = request;
    return heads::chat_mask_of(seg_.segment(*enc_, q));
  });
}

void ChatSegmentScore::run_image(
    const io::Image& img, const heads::EncodedImage& enc,
    const std::vector<std::pair<const data::RefSentence*, const std::vector<std::uint8_t>*>>& sentences) {
  enc_ = &enc;
  session_.reset();
  session_.add_image(img, "eval");
  mllm::ChatSampling greedy;
  greedy.max_tokens = 4;
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    const auto& [sent, truth] = sentences[i];
    const std::size_t w = static_cast<std::size_t>(sent->sent_id) % asked_.size();
    const std::string question = mllm::referring_request(sent->sent, w);
    const mllm::ChatTurn& a = i == 0 ? session_.ask(question, greedy) : session_.edit(0, question, greedy);
    ++asked_[w];
    const bool drawn = a.text.find(llm::kSeg) != std::string::npos && a.mask && a.mask->error.empty();
    if (drawn) ++answered_[w];
    scores_.add(mask_overlap(drawn ? a.mask->mask : std::vector<std::uint8_t>(truth->size(), 0), *truth));
  }
}

nlohmann::json ChatSegmentScore::report() const {
  std::int64_t asked = 0, seg = 0;
  nlohmann::json by = nlohmann::json::array();
  for (std::size_t w = 0; w < asked_.size(); ++w) {
    asked += asked_[w];
    seg += answered_[w];
    by.push_back(
        {{"wording", mllm::referring_wordings()[w]},
         {"asked", asked_[w]},
         {"seg_rate", asked_[w] ? nlohmann::json(double(answered_[w]) / double(asked_[w])) : nlohmann::json()}});
  }
  const ReferringScores s = scores_.scores("all");
  return {{"asked", asked},
          {"seg_answers", seg},
          {"seg_rate", asked ? nlohmann::json(double(seg) / double(asked)) : nlohmann::json()},
          {"gIoU", s.count ? nlohmann::json(s.giou) : nlohmann::json()},
          {"cIoU", s.count ? nlohmann::json(s.ciou) : nlohmann::json()},
          {"by_wording", by}};
}

}  // namespace setok::eval
