#include "core/heads/chat_mask.h"

#include <mutex>

#include "core/heads/segmenter.h"
#include "core/runtime/error.h"

namespace setok::heads {

mllm::ChatMask chat_mask_of(const SegmentResult& r) {
  mllm::ChatMask m;
  m.width = r.width;
  m.height = r.height;
  m.mask = r.mask().mask;
  m.predicted_iou = r.mask().predicted_iou;
  return m;
}

mllm::ChatSession::SegmentFn chat_segmenter(std::shared_ptr<const mllm::LoadedSetokim> model) {
  struct State {
    std::shared_ptr<const mllm::LoadedSetokim> model;
    std::shared_ptr<const Segmenter> segmenter;
    std::once_flag loaded;
  };
  auto st = std::make_shared<State>();
  st->model = std::move(model);
  return [st](const io::Image& image, const std::string& request) {
    std::call_once(st->loaded, [&] {  // a throw leaves it to the next [SEG] answer
      if (!Segmenter::has_decoder(st->model->dir())) throw Error(st->model->dir() + " has no mask decoder");
      st->segmenter = Segmenter::load(st->model);
    });
    SegmentQuery q;
    q.request = request;
    return chat_mask_of(st->segmenter->segment(image, q));
  };
}

}  // namespace setok::heads
