#include "core/train/segment_data.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "core/data/coco.h"
#include "core/data/refcoco.h"
#include "core/heads/referring_request.h"
#include "core/heads/zoom_in.h"
#include "core/io/image.h"
#include "core/mllm/referring_wording.h"
#include "core/runtime/error.h"

namespace setok::train {

namespace fs = std::filesystem;

namespace {

struct Wanted {
  const data::CocoImage* image = nullptr;
  std::vector<const data::CocoAnnotation*> objects;
};

std::vector<Wanted> group_objects(const data::CocoInstances& inst, std::int64_t max_images) {
  std::map<std::int64_t, Wanted> by_id;
  for (const auto& im : inst.images) by_id[im.id].image = &im;
  for (const auto& a : inst.annotations)
    if (!a.iscrowd && by_id.count(a.image_id)) by_id[a.image_id].objects.push_back(&a);
  std::vector<Wanted> out;
  for (auto& [id, w] : by_id)
    if (w.image && !w.objects.empty()) out.push_back(w);
  if (max_images > 0 && static_cast<std::int64_t>(out.size()) > max_images) out.resize(max_images);
  return out;
}

// One training image: a whole image of the split, or a crop of it (roi).
struct Source {
  const Wanted* wanted = nullptr;
  std::optional<heads::ZoomRoi> roi;
};

// The object's mask at the image's resolution, [H, W] float 0/1.
at::Tensor full_mask(const data::CocoAnnotation& a, const data::CocoImage& im) {
  std::vector<std::uint8_t> m = data::annotation_mask(a, im.height, im.width);
  return at::from_blob(m.data(), {im.height, im.width}, at::kByte).to(at::kFloat);
}

// The mask over the source (the whole image, or its crop) at the model's input size.
at::Tensor object_mask(const data::CocoAnnotation& a, const Source& src, std::int64_t side) {
  at::Tensor t = full_mask(a, *src.wanted->image);
  if (src.roi) t = t.narrow(0, src.roi->y0, src.roi->side).narrow(1, src.roi->x0, src.roi->side);
  if (t.size(0) != side || t.size(1) != side)
    t = at::upsample_nearest2d(t.view({1, 1, t.size(0), t.size(1)}), {side, side});
  return t.view({side, side}).gt(0.5);
}

// The whole images, each followed by its zoomed crops.
std::vector<Source> sources(const std::vector<Wanted>& wanted, const SegmentDataOptions& o) {
  std::mt19937_64 rng(o.seed * 104729 + 17);
  std::uniform_real_distribution<float> expansion(1.6f, 3.2f);
  std::vector<Source> out;
  for (const Wanted& w : wanted) {
    out.push_back({&w, std::nullopt});
    for (int k = 0; k < o.zoom_crops; ++k) {
      const data::CocoAnnotation& a = *w.objects[rng() % w.objects.size()];
      heads::ZoomOptions z;
      z.expansion = expansion(rng);
      const std::optional<heads::ZoomRoi> roi = heads::zoom_roi(full_mask(a, *w.image).gt(0.5), {}, z);
      if (roi) out.push_back({&w, roi});
    }
  }
  return out;
}

void add_requests(SegmentImage& img, mllm::SetokimImpl& model, const llm::TextTokenizer& tok,
                  const mllm::VisualTokens& v, const std::vector<const data::Ref*>& refs,
                  const std::vector<std::int64_t>& ann_ids, bool vary_wording) {
  const std::size_t wordings = mllm::referring_wordings().size();
  std::vector<std::string> sentences;
  std::vector<std::size_t> owner;
  for (const data::Ref* r : refs) {
    const auto it = std::find(ann_ids.begin(), ann_ids.end(), r->ann_id);
    if (it == ann_ids.end()) continue;
    for (const auto& s : r->sentences) {
      const std::size_t w = vary_wording ? static_cast<std::size_t>(s.sent_id) % wordings : 0;
      sentences.push_back(mllm::referring_request(s.sent, w));
      owner.push_back(static_cast<std::size_t>(it - ann_ids.begin()));
    }
  }
  if (sentences.empty()) return;
  std::vector<heads::LanguageStates> states = heads::language_states(model, tok, v, sentences);
  for (std::size_t i = 0; i < states.size(); ++i)
    img.objects[owner[i]].requests.push_back(states[i].request.to(at::kHalf));
  img.visual = states[0].visual.to(at::kHalf);
  img.tokens = v.embeds.to(at::kHalf);
}

}  // namespace

std::vector<SegmentImage> build_segment_data(mllm::SetokimImpl& model, const llm::TextTokenizer& tok,
                                             const SegmentDataOptions& o,
                                             const std::function<void(std::size_t, std::size_t)>& progress) {
  const fs::path ann = fs::path(o.data_dir) / "annotations";
  data::CocoInstances inst = data::read_coco_instances((ann / ("instances_" + o.split + ".json")).string());
  std::map<std::int64_t, std::vector<const data::Ref*>> refs_of;
  std::vector<data::Ref> refs;
  const fs::path refs_path = ann / ("refs_" + o.split + ".json");
  if (o.language && fs::exists(refs_path)) refs = data::read_refs(refs_path.string());
  for (const auto& r : refs) refs_of[r.image_id].push_back(&r);
  const std::vector<Wanted> wanted = group_objects(inst, o.max_images);
  const std::vector<Source> items = sources(wanted, o);
  const std::int64_t side = model.setok->config().vision.image_size;
  std::vector<SegmentImage> out;
  at::NoGradGuard g;
  for (std::size_t b0 = 0; b0 < items.size(); b0 += static_cast<std::size_t>(o.batch)) {
    const std::size_t b1 = std::min(items.size(), b0 + static_cast<std::size_t>(o.batch));
    std::vector<at::Tensor> px;
    for (std::size_t i = b0; i < b1; ++i) {
      const io::Image img = io::load_image((fs::path(o.data_dir) / items[i].wanted->image->file_name).string());
      px.push_back(model.setok->preprocess(items[i].roi ? heads::crop_image(img, *items[i].roi) : img));
    }
    at::Tensor pixels = at::cat(px, 0);
    std::vector<mllm::VisualTokens> vt = model.visual_tokens_batch(pixels);
    for (std::size_t i = b0; i < b1; ++i) {
      const Source& src = items[i];
      mllm::VisualTokens v = model.project(vt[i - b0]);
      SegmentImage img;
      img.features = v.features.to(at::kFloat).contiguous();
      img.pixels = ((pixels[i - b0] * 0.5 + 0.5) * 255).round().clamp(0, 255).to(at::kByte);
      img.assignment = v.assignment.to(at::kLong);
      std::vector<std::int64_t> ann_ids;
      for (const auto* a : src.wanted->objects) {
        at::Tensor m = object_mask(*a, src, side);
        if (src.roi && m.sum().item<std::int64_t>() < 16) continue;  // (nearly) outside the crop
        img.objects.push_back({m, {}});
        ann_ids.push_back(a->id);
      }
      if (o.language && !src.roi)
        add_requests(img, model, tok, v, refs_of[src.wanted->image->id], ann_ids, o.vary_wording);
      out.push_back(std::move(img));
    }
    if (progress) progress(b1, items.size());
  }
  return out;
}

}  // namespace setok::train
