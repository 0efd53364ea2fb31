#pragma once
// What the judge finds in a picture: SeTok tokenizes the picture as it would any image, each
// token's region at pixel edges is cropped and judged (core/eval/object_judge.h), and the regions
// it calls an object are the picture's objects, with where they are (thirds of the picture, as the
// world's prompts say "in the top right").
#include <cstdint>
#include <vector>

#include "core/eval/object_judge.h"
#include "core/io/image.h"
#include "core/tokenizer/setok_model.h"

namespace setok::eval {

struct PictureObject {
  int cls = -1, colour = -1;  // indices into the judge's classes and colours
  double p = 0;               // the judge's probability of that class
  double cx = 0, cy = 0;      // centroid in pixels
  std::int64_t area = 0;
  int row = 0, col = 0;  // thirds of the picture, 0..2 from the top and the left
};

// Regions smaller than min_area pixels are not judged; a region is an object when the judge gives
// its most likely class, not "no object", at least min_probability.
std::vector<PictureObject> picture_objects(tokenizer::SetokModelImpl& setok, ObjectJudgeImpl& judge,
                                           const io::Image& picture, double min_probability = 0.5,
                                           std::int64_t min_area = 12);

// A picture's RGB as [3, H, W] floats in [0, 1] (what judge_crop reads).
at::Tensor picture_pixels(const io::Image& picture);
// The token of every pixel, [H, W] long: `setok`'s tokens of the picture at pixel edges.
at::Tensor picture_regions(tokenizer::SetokModelImpl& setok, const io::Image& picture);

// The third of a side `size` a coordinate falls in (0, 1, 2).
int third(double v, int size);

}  // namespace setok::eval
