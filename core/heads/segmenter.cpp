#include "core/heads/segmenter.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>

#include "core/heads/main_region.h"
#include "core/heads/mask_decoder.h"
#include "core/heads/prompt_batch.h"
#include "core/heads/referring_request.h"
#include "core/heads/token_under_click.h"
#include "core/heads/zoom_in.h"
#include "core/mllm/loaded_setokim.h"
#include "core/mllm/referring_wording.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"

namespace setok::heads {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt(float v) { return std::to_string(static_cast<int>(v)); }

void check_query(const SegmentQuery& q, int w, int h, std::int64_t low_res) {
  const bool has_text = (q.expression + q.request).find_first_not_of(" \t\n") != std::string::npos;
  if (!has_text && q.clicks.empty() && !q.box && q.previous.empty() && q.start_mask.empty())
    throw Error("nothing to segment: give an expression, a click or a box");
  const std::string size = std::to_string(w) + "x" + std::to_string(h);
  for (const Click& c : q.clicks)
    if (!(c.x >= 0 && c.y >= 0 && c.x <= w && c.y <= h))
      throw Error("the click " + fmt(c.x) + "," + fmt(c.y) + " is outside the image (" + size + ")");
  if (q.box) {
    const Box& b = *q.box;
    if (!(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= w && b.y1 <= h && b.x0 < b.x1 && b.y0 < b.y1))
      throw Error("the box " + fmt(b.x0) + "," + fmt(b.y0) + "," + fmt(b.x1) + "," + fmt(b.y1) +
                  " is not inside the image (" + size + ") or is empty");
  }
  if (!q.previous.empty() && static_cast<std::int64_t>(q.previous.size()) != low_res * low_res)
    throw Error("the previous mask has " + std::to_string(q.previous.size()) + " values, not " +
                std::to_string(low_res * low_res));
  if (!q.start_mask.empty() && q.start_mask.size() != static_cast<std::size_t>(w) * h)
    throw Error("the start mask is not the image's size (" + size + ")");
}

// The candidate's area and box from its mask.
void measure(MaskCandidate& c, int w, int h) {
  c.area = 0;
  c.bbox = {0, 0, 0, 0};
  int x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (c.mask[static_cast<std::size_t>(y) * w + x]) {
        ++c.area;
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
  if (c.area > 0) c.bbox = {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

// `main_only`: an expression's mask keeps its main region (main_region.h).
MaskCandidate to_candidate(const at::Tensor& logits_full, int w, int h, float iou, bool main_only) {
  at::Tensor m =
      at::upsample_bilinear2d(logits_full.view({1, 1, logits_full.size(-2), logits_full.size(-1)}), {h, w}, false)
          .view({h, w})
          .gt(0)
          .to(at::kByte)
          .contiguous();
  MaskCandidate c;
  c.predicted_iou = iou;
  c.mask.assign(m.data_ptr<std::uint8_t>(), m.data_ptr<std::uint8_t>() + m.numel());
  if (main_only) keep_main_region(c.mask, w, h);
  measure(c, w, h);
  return c;
}

}  // namespace

class EncodedImage {
 public:
  int width = 0, height = 0;
  io::Image source;     // the image as given, for the crops of zoom_in.h
  at::Tensor pixels01;  // [1, 3, S, S] in [0, 1]
  mllm::VisualTokens visual;
  // The last crop a click zoomed in on and what the decoder reads of it; the next click on the same
  // crop reuses them.
  struct Crop {
    ZoomRoi roi;
    at::Tensor pixels01, features;  // [1, 3, S, S] in [0, 1]; [1, grid², d]
  };
  mutable std::mutex crop_mutex;
  mutable std::optional<Crop> crop;
};

struct Segmenter::Impl {
  mllm::Setokim model{nullptr};
  MaskDecoder decoder{nullptr};
  MaskDecoder clicks{nullptr};  // click_decoder.json where the folder has one: every query without words
};

bool Segmenter::has_decoder(const std::string& dir) {
  return !dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / kMaskDecoderConfigFile);
}

std::shared_ptr<const Segmenter> Segmenter::load(const std::string& setokim_dir) {
  if (!has_decoder(setokim_dir)) throw Error(setokim_dir + " has no mask decoder (" + kMaskDecoderConfigFile + ")");
  return load(mllm::LoadedSetokim::load(setokim_dir));
}

std::shared_ptr<const Segmenter> Segmenter::load(std::shared_ptr<const mllm::LoadedSetokim> model) {
  if (!model) throw Error("segment: no model");
  std::shared_ptr<Segmenter> s(new Segmenter());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->model = mllm::Setokim(model->model());
  s->impl_->decoder = load_mask_decoder(model->dir());
  if (std::filesystem::exists(std::filesystem::path(model->dir()) / kClickDecoderConfigFile)) {
    s->impl_->clicks = load_mask_decoder(model->dir(), kClickDecoderConfigFile, kClickDecoderWeightsFile);
    const MaskDecoderConfig &a = s->impl_->decoder->config(), &b = s->impl_->clicks->config();
    if (b.language_dim != 0 || b.low_res() != a.low_res() || b.feature_dim != a.feature_dim)
      throw Error(model->dir() + ": " + kClickDecoderConfigFile +
                  " is not a clicks-only decoder over the same features and mask size as " + kMaskDecoderConfigFile);
  }
  s->model_ = std::move(model);
  return s;
}

Segmenter::~Segmenter() = default;

bool Segmenter::reads_language() const { return impl_->decoder->config().language_dim > 0; }

std::shared_ptr<const EncodedImage> Segmenter::encode(const io::Image& image) const {
  if (image.empty()) throw Error("segment: the image is empty");
  c10::InferenceMode g;
  auto e = std::make_shared<EncodedImage>();
  e->width = image.width;
  e->height = image.height;
  e->source = image;
  at::Tensor px = impl_->model->setok->preprocess(image);
  e->pixels01 = px * 0.5 + 0.5;
  e->visual = impl_->model->encode_image(px);
  return e;
}

SegmentResult Segmenter::segment(const io::Image& image, const SegmentQuery& query) const {
  const auto t0 = std::chrono::steady_clock::now();
  auto e = encode(image);
  const double encode_ms = ms_since(t0);
  SegmentResult r = segment(*e, query);
  r.ms.encode_ms = encode_ms;
  r.ms.total_ms += encode_ms;
  return r;
}

namespace {

bool has_text(const SegmentQuery& q) {
  return (q.expression + q.request).find_first_not_of(" \t\n") != std::string::npos;
}

// A lone click: one click and nothing else (`text`: has_text(q)), the one ambiguous query.
bool lone_click(const SegmentQuery& q, bool text) {
  return q.clicks.size() == 1 && !q.box && !text && q.previous.empty() && q.start_mask.empty();
}

// The query's clicks, box and dense prompt (a previous mask, a start mask, or the token under a
// lone click) as the decoder reads them; the language prompt is added by the caller.
// The clicks in the decoder's [0, 1] frame: (x − x0)·sx, (y − y0)·sy (a pixel's centre is x + 0.5).
void add_clicks(PromptSample& s, const std::vector<Click>& clicks, float x0, float y0, float sx, float sy) {
  for (const Click& c : clicks) {
    s.points.insert(s.points.end(), {(c.x - x0) * sx, (c.y - y0) * sy});
    s.labels.push_back(c.positive ? kPositive : kNegative);
  }
}

PromptSample geometric_prompt(const EncodedImage& e, const SegmentQuery& q, bool lone, const MaskDecoderConfig& cfg) {
  PromptSample s;
  const float sx = 1.0f / static_cast<float>(e.width), sy = 1.0f / static_cast<float>(e.height);
  add_clicks(s, q.clicks, 0.0f, 0.0f, sx, sy);
  if (q.box) {
    s.points.insert(s.points.end(), {q.box->x0 * sx, q.box->y0 * sy, q.box->x1 * sx, q.box->y1 * sy});
    s.labels.insert(s.labels.end(), {kBoxTopLeft, kBoxBottomRight});
  }
  if (!q.previous.empty()) s.dense = at::tensor(q.previous).view({cfg.low_res(), cfg.low_res()});
  else if (!q.start_mask.empty())
    s.dense =
        mask_to_logits(at::tensor(at::ArrayRef<std::uint8_t>(q.start_mask)).view({e.height, e.width}), cfg.low_res());
  else if (lone && q.token_under_click)
    s.dense = token_under_click_logits(e.visual.assignment, e.visual.grid_h, e.visual.grid_w, s.points[0], s.points[1],
                                       cfg.low_res());
  return s;
}

// The visual tokens the decoder says the expression refers to (relevance above ½).
void add_relevance(SegmentResult& r, const at::Tensor& relevance_logits, std::int64_t count) {
  at::Tensor rel = at::sigmoid(relevance_logits).narrow(0, 0, count).contiguous();
  for (std::int64_t i = 0; i < rel.numel(); ++i) {
    r.relevance.push_back(rel[i].item<float>());
    if (r.relevance.back() > 0.5f) r.referred_tokens.push_back(static_cast<int>(i));
  }
}

// The previous logits as given ([1, 1, low_res, low_res], over the whole image) and at the image's
// resolution.
struct PreviousLogits {
  at::Tensor low, at_image;
};

// Where a query zooms in (zoom_in.h): clicks on a mask that exists, no words; none otherwise.
std::optional<ZoomRoi> query_roi(const EncodedImage& e, const SegmentQuery& q, const at::Tensor& before) {
  std::vector<std::array<float, 2>> clicks;
  for (const Click& c : q.clicks) clicks.push_back({c.x, c.y});
  ZoomOptions o;
  o.snap = std::max(1, std::min(e.width, e.height) / 16);
  return zoom_roi(before.gt(0), clicks, o);
}

// The crop's pixels and features, encoded once per crop (`fresh`: encoded by this call).
EncodedImage::Crop crop_features(mllm::SetokimImpl& model, const EncodedImage& e, const ZoomRoi& roi, bool& fresh) {
  std::lock_guard<std::mutex> lock(e.crop_mutex);
  fresh = !e.crop || e.crop->roi.x0 != roi.x0 || e.crop->roi.y0 != roi.y0 || e.crop->roi.side != roi.side;
  if (fresh) {
    const at::Tensor px = model.setok->preprocess(crop_image(e.source, roi));
    e.crop = EncodedImage::Crop{roi, px * 0.5 + 0.5, model.setok->encoder->patch_features(px).features};
  }
  return *e.crop;
}

// The query on a crop of the image: its clicks and previous mask in the crop's frame, its masks
// pasted back over the previous mask at the image's resolution.
SegmentResult segment_zoomed(mllm::SetokimImpl& model, MaskDecoderImpl& decoder, const EncodedImage& e,
                             const SegmentQuery& q, const PreviousLogits& prev, const ZoomRoi& roi) {
  const MaskDecoderConfig& cfg = decoder.config();
  const auto t0 = std::chrono::steady_clock::now();
  SegmentResult r;
  r.width = e.width;
  r.height = e.height;
  bool fresh = false;
  const EncodedImage::Crop crop = crop_features(model, e, roi, fresh);
  r.ms.encode_ms = fresh ? ms_since(t0) : 0.0;
  r.zoom = {roi.x0, roi.y0, roi.side};
  const auto t1 = std::chrono::steady_clock::now();
  PromptSample s;
  const float scale = 1.0f / static_cast<float>(roi.side);
  add_clicks(s, q.clicks, static_cast<float>(roi.x0), static_cast<float>(roi.y0), scale, scale);
  s.dense = crop_logits(prev.low, roi, e.width, e.height, cfg.low_res());
  MaskPrediction p = decoder.forward(crop.features, collate_prompts({s}, cfg));
  const std::int64_t m = cfg.masks(), n = q.best_only ? 1 : m;
  at::Tensor crops = decoder.refine(p.low_res[0].narrow(0, 0, n).unsqueeze(1), crop.pixels01.expand({n, -1, -1, -1}),
                                    p.features.expand({n, -1, -1, -1}));
  at::Tensor shown;
  for (std::int64_t i = 0; i < m; ++i) {
    const float predicted = p.iou[0][i].item<float>();
    if (i >= n) {
      r.candidates.push_back(MaskCandidate{{}, predicted, 0, {0, 0, 0, 0}});
      continue;
    }
    at::Tensor full = paste_logits(prev.at_image, crops[i][0], roi);
    if (i == 0) shown = full;
    r.candidates.push_back(to_candidate(full, e.width, e.height, predicted, false));
  }
  at::Tensor lr =
      at::_upsample_bilinear2d_aa(shown.view({1, 1, e.height, e.width}), {cfg.low_res(), cfg.low_res()}, false);
  lr = lr.contiguous();
  r.low_res.assign(lr.data_ptr<float>(), lr.data_ptr<float>() + lr.numel());
  r.low_res_side = static_cast<int>(cfg.low_res());
  r.ms.decode_ms = ms_since(t1);
  r.ms.total_ms = ms_since(t0);
  return r;
}

}  // namespace

SegmentResult Segmenter::segment(const EncodedImage& e, const SegmentQuery& q) const {
  const bool text = has_text(q), lone = lone_click(q, text);
  // A query without words goes to the clicks-only decoder where there is one.
  MaskDecoderImpl& decoder = impl_->clicks && !text ? *impl_->clicks : *impl_->decoder;
  const MaskDecoderConfig& cfg = decoder.config();
  check_query(q, e.width, e.height, cfg.low_res());
  c10::InferenceMode g;
  if (q.zoom && !text && !q.previous.empty() && !q.clicks.empty()) {
    PreviousLogits prev;
    prev.low = at::tensor(q.previous).view({1, 1, cfg.low_res(), cfg.low_res()});
    prev.at_image = at::upsample_bilinear2d(prev.low, {e.height, e.width}, false)[0][0];
    if (const std::optional<ZoomRoi> roi = query_roi(e, q, prev.at_image))
      return segment_zoomed(*impl_->model, decoder, e, q, prev, *roi);
  }
  const auto t0 = std::chrono::steady_clock::now();
  SegmentResult r;
  r.width = e.width;
  r.height = e.height;
  PromptSample s = geometric_prompt(e, q, lone, cfg);
  if (text && !reads_language()) throw Error("this mask decoder reads clicks and boxes only, not expressions");
  if (text) {
    const std::string request = q.request.empty() ? mllm::referring_request(q.expression) : q.request;
    LanguageStates ls = language_states(*impl_->model, model_->tokenizer(), e.visual, request);
    s.request = ls.request;
    s.visual = ls.visual;
    s.visual_input = e.visual.embeds.to(at::kFloat);
    s.assignment = e.visual.assignment;
  }
  r.ms.language_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  MaskPrediction p = decoder.forward(e.visual.features.unsqueeze(0), collate_prompts({s}, cfg));
  const bool ambiguous = lone && !s.dense.defined();
  at::Tensor iou = p.iou[0];
  r.best = ambiguous && cfg.multimask > 0 ? 1 + iou.narrow(0, 1, cfg.multimask).argmax().item<int>() : 0;
  const std::int64_t m = cfg.masks();
  // best_only refines the one mask shown; the others keep their predicted IoU only.
  at::Tensor drawn = q.best_only ? p.low_res[0].narrow(0, r.best, 1) : p.low_res[0];
  const std::int64_t n = drawn.size(0);
  at::Tensor full =
      decoder.refine(drawn.unsqueeze(1), e.pixels01.expand({n, -1, -1, -1}), p.features.expand({n, -1, -1, -1}));
  for (std::int64_t i = 0; i < m; ++i) {
    const float predicted = iou[i].item<float>();
    if (!q.best_only) r.candidates.push_back(to_candidate(full[i], e.width, e.height, predicted, text));
    else if (i == r.best) r.candidates.push_back(to_candidate(full[0], e.width, e.height, predicted, text));
    else r.candidates.push_back(MaskCandidate{{}, predicted, 0, {0, 0, 0, 0}});
  }
  at::Tensor lr = p.low_res[0][r.best].contiguous();
  r.low_res.assign(lr.data_ptr<float>(), lr.data_ptr<float>() + lr.numel());
  r.low_res_side = static_cast<int>(cfg.low_res());
  if (p.relevance.defined()) add_relevance(r, p.relevance[0], e.visual.count());
  r.ms.decode_ms = ms_since(t1);
  r.ms.total_ms = ms_since(t0);
  return r;
}

}  // namespace setok::heads
