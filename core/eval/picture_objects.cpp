#include "core/eval/picture_objects.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/eval/label_maps.h"

namespace setok::eval {

int third(double v, int size) { return v < size / 3.0 ? 0 : (v < 2.0 * size / 3.0 ? 1 : 2); }

at::Tensor picture_pixels(const io::Image& picture) {
  return at::from_blob(const_cast<std::uint8_t*>(picture.rgb.data()), {picture.height, picture.width, 3}, at::kByte)
             .permute({2, 0, 1})
             .to(at::kFloat) /
         255.0;
}

at::Tensor picture_regions(tokenizer::SetokModelImpl& setok, const io::Image& picture) {
  c10::InferenceMode guard;
  const tokenizer::Tokenized t = setok.tokenize(setok.preprocess(picture));
  at::Tensor valid = t.clusters.token_valid[0].to(at::kBool);
  at::Tensor assign = t.clusters.masks[0].masked_fill(at::logical_not(valid).unsqueeze(0), -1).argmax(1);
  return pixel_edge_labels(picture, assign, t.grid_h, t.grid_w).view({picture.height, picture.width});
}

std::vector<PictureObject> picture_objects(tokenizer::SetokModelImpl& setok, ObjectJudgeImpl& judge,
                                           const io::Image& picture, double min_probability, std::int64_t min_area) {
  c10::InferenceMode guard;
  const at::Tensor labels = picture_regions(setok, picture);
  const at::Tensor px = picture_pixels(picture);
  const int h = picture.height, w = picture.width;
  std::vector<at::Tensor> crops;
  std::vector<PictureObject> regions;
  const std::int64_t tokens = labels.max().item<std::int64_t>() + 1;
  for (std::int64_t k = 0; k < tokens; ++k) {
    at::Tensor mask = labels == k;
    const std::int64_t area = mask.sum().item<std::int64_t>();
    if (area < min_area) continue;
    at::Tensor nz = mask.nonzero().to(at::kDouble);
    PictureObject o;
    o.area = area;
    o.cy = nz.select(1, 0).mean().item<double>() + 0.5;
    o.cx = nz.select(1, 1).mean().item<double>() + 0.5;
    o.row = third(o.cy, h);
    o.col = third(o.cx, w);
    regions.push_back(o);
    crops.push_back(judge_crop(px, mask, judge.config().crop));
  }
  std::vector<PictureObject> out;
  if (crops.empty()) return out;
  JudgeLogits l = judge.forward(at::stack(crops));
  at::Tensor pc = at::softmax(l.cls, 1);
  at::Tensor colour = l.colour.argmax(1);
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const auto best = pc[static_cast<std::int64_t>(i)].max(0);
    const int cls = static_cast<int>(std::get<1>(best).item<std::int64_t>());
    const double p = std::get<0>(best).item<double>();
    if (cls == judge.config().none() || p < min_probability) continue;
    PictureObject o = regions[i];
    o.cls = cls;
    o.p = p;
    o.colour = static_cast<int>(colour[static_cast<std::int64_t>(i)].item<std::int64_t>());
    out.push_back(o);
  }
  return out;
}

}  // namespace setok::eval
