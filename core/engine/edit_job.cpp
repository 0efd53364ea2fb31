#include "core/engine/edit_job.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>

#include "core/engine/job_support.h"
#include "core/eval/label_maps.h"
#include "core/mllm/edit_request.h"
#include "core/mllm/generation_request.h"
#include "core/mllm/image_editor.h"
#include "core/runtime/error.h"

namespace setok::engine {
namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\n") == std::string::npos; }

// The selection as [H, W] bool; checked against the image's size.
at::Tensor region_mask(const EditRequest& req) {
  const std::size_t n = static_cast<std::size_t>(req.image.width) * req.image.height;
  if (req.region.size() != n)
    throw Error("the selection is not the image's size (" + std::to_string(req.region.size()) + " pixels, the image " +
                std::to_string(n) + ")");
  return at::tensor(std::vector<std::uint8_t>(req.region.begin(), req.region.end()), at::kByte)
             .view({req.image.height, req.image.width}) != 0;
}

void edit(mllm::WriterModel& w, const EditRequest& req, const std::function<void(float)>& stage, EditOutcome& r) {
  mllm::ImageEditing e;
  e.writing.seed = req.seed, e.writing.cfg = req.cfg, e.writing.steps = req.steps;
  e.writing.temperature = req.temperature;
  const at::Tensor mask = req.region.empty() ? at::Tensor() : region_mask(req);
  stage(0.1f);
  const mllm::PictureEdit pe = mllm::edit_picture(*w.loaded->model(), *w.head, w.loaded->tokenizer(), req.image,
                                                  req.instruction, e, mask, [&](std::int64_t k) {
                                                    stage(0.3f + 0.6f * static_cast<float>(k) / e.writing.max_tokens);
                                                    return true;
                                                  });
  const mllm::EditedImage& ed = pe.edit;
  r.picture = pe.picture;
  r.kept = ed.indices(mllm::TokenEdit::kKeep);
  r.changed = ed.indices(mllm::TokenEdit::kChange);
  r.removed = ed.indices(mllm::TokenEdit::kRemove);
  r.added = ed.added();
  r.written = ed.written.count();
}

void draw(mllm::WriterModel& w, const EditRequest& req, const std::function<void(float)>& stage, EditOutcome& r) {
  mllm::ImageWriting o;
  o.seed = req.seed, o.cfg = req.cfg, o.steps = req.steps, o.temperature = req.temperature;
  const mllm::WrittenImage img =
      mllm::write_image(*w.loaded->model(), *w.head, w.loaded->tokenizer(), mllm::generation_request(req.prompt),
                        mllm::null_generation_request(), o, [&](std::int64_t k) {
                          stage(0.1f + 0.8f * static_cast<float>(k) / o.max_tokens);
                          return true;
                        });
  r.picture = eval::to_image(img.pixels.clamp(-1, 1)[0]);
  r.written = img.tokens.count();
  r.added = r.written;
}

}  // namespace

void run_edit(SetokimLane& lane, WorkerLane::Job& job, EditRequest& req, const Done<EditOutcome>& done,
              const Progress& progress) {
  EditOutcome r;
  r.id = req.id;
  const auto t0 = detail::Clock::now();
  auto stage = detail::stage_check(job, progress);
  detail::fail(r, [&] {
    const bool drawing = req.image.empty();
    if (drawing ? blank(req.prompt) : blank(req.instruction))
      throw Error(drawing ? "the prompt is empty" : "the instruction is empty");
    stage(0.0f);
    mllm::WriterModel& w = lane.writer(&r.load_model_ms);
    r.model_name = lane.dir();
    c10::InferenceMode guard;
    if (drawing) draw(w, req, stage, r);
    else edit(w, req, stage, r);
    r.ms = detail::ms_since(t0);
    stage(1.0f);
  });
  if (!r.ok()) {  // a failed or cancelled outcome carries no half-made picture
    EditOutcome e;
    e.id = r.id, e.status = r.status, e.error = r.error, e.load_model_ms = r.load_model_ms;
    e.model_name = r.model_name;
    r = std::move(e);
  }
  detail::deliver(done, std::move(r));
}

}  // namespace setok::engine
