#include "core/heads/chat_mask.h"

#include <mutex>

#include "core/heads/segmenter.h"
#include "core/runtime/error.h"

namespace setok::heads {

mllm::ChatSession::SegmentFn chat_segmenter(std::shared_ptr<const mllm::LoadedSetokim> model) {
  struct State {
    std::shared_ptr<const mllm::LoadedSetokim> model;
    std::shared_ptr<const Segmenter> segmenter;
    std::once_flag loaded;
  };
  auto st = std::make_shared<State>();
  st->model = std::move(model);
  return [st](const io::Image& image, const std::string& request) {
    if (!Segmenter::has_decoder(st->model->dir())) throw Error(st->model->dir() + " has no mask decoder");
    std::call_once(st->loaded, [&] { st->segmenter = Segmenter::load(st->model); });
    SegmentQuery q;
    q.request = request;
    const SegmentResult r = st->segmenter->segment(image, q);
    mllm::ChatMask m;
    m.width = r.width;
    m.height = r.height;
    m.mask = r.mask().mask;
    m.predicted_iou = r.mask().predicted_iou;
    return m;
  };
}

}  // namespace setok::heads
