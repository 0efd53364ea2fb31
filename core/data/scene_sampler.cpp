#include "core/data/scene_sampler.h"

#include <algorithm>
#include <cmath>

#include "core/data/assets.h"
#include "core/data/fashion_mnist.h"
#include "core/runtime/error.h"

namespace setok::data {

Split parse_split(const std::string& name) {
  if (name == "train") return Split::train;
  if (name == "val") return Split::val;
  if (name == "test") return Split::test;
  if (name == "compositional") return Split::compositional;
  throw Error("unknown split '" + name + "' (train, val, test or compositional)");
}

const char* split_name(Split s) {
  switch (s) {
    case Split::train:
      return "train";
    case Split::val:
      return "val";
    case Split::test:
      return "test";
    case Split::compositional:
      return "compositional";
  }
  return "?";
}

int min_visible_pixels(int px) {
  // ~20 pixels at 128x128, the same share of the image at other sizes.
  return std::max(20, static_cast<int>(std::lround(20.0 * px * px / (128.0 * 128.0))));
}

bool allowed(Split split, int cls, int colour) { return split == Split::compositional || !is_held_out(cls, colour); }

float overlap(const SceneObject& a, const SceneObject& b) {
  const float ha = a.extent / 2, hb = b.extent / 2;
  const float w = std::min(a.cx + ha, b.cx + hb) - std::max(a.cx - ha, b.cx - hb);
  const float h = std::min(a.cy + ha, b.cy + hb) - std::max(a.cy - ha, b.cy - hb);
  if (w <= 0 || h <= 0) return 0;
  const float smaller = std::min(a.extent, b.extent);
  return w * h / (smaller * smaller);
}

SceneObject sample_object(Rng& rng, Split split, int px, bool force_held_out) {
  SceneObject o;
  if (force_held_out) {
    o.cls = rng.below(kNumShapes);
    o.colour = held_out_colour(static_cast<Shape>(o.cls));
  } else {
    // Shapes outnumber items 7:3: the shapes carry the compositional structure.
    if (rng.chance(0.3)) {
      const FashionMnist& fm = fashion_mnist(split == Split::train || split == Split::val);
      // Train and val draw from disjoint halves of the training file, so no item repeats across them.
      const int half = fm.count() / 2;
      o.item = split == Split::val ? half + rng.below(fm.count() - half)
                                   : (split == Split::train ? rng.below(half) : rng.below(fm.count()));
      o.item_train = split == Split::train || split == Split::val;
      o.cls = fashion_class(fm.labels[o.item]);
    } else {
      o.cls = rng.below(kNumShapes);
    }
    do o.colour = rng.below(kNumColours);
    while (!allowed(split, o.cls, o.colour));
  }
  o.size = rng.below(kNumSizes);
  // Fashion-MNIST items fill ~70% of their 28x28 square: draw them a little larger.
  const float boost = is_shape(o.cls) ? 1.0f : 1.3f;
  o.extent = static_cast<float>(size_fraction(o.size) * boost * px * rng.uniform(0.92, 1.08));
  o.rotation = is_shape(o.cls) ? static_cast<float>(rng.uniform(-0.35, 0.35)) : 0.0f;
  return o;
}

bool place_object(Rng& rng, SceneObject& o, int px, const std::vector<SceneObject>& others, float max_overlap) {
  // Shapes stay whole inside the image; items may touch the border (their square has padding).
  const float margin = is_shape(o.cls) ? o.extent / 2 + 1 : o.extent * 0.4f;
  for (int attempt = 0; attempt < 40; ++attempt) {
    o.cx = static_cast<float>(rng.uniform(margin, px - margin));
    o.cy = static_cast<float>(rng.uniform(margin, px - margin));
    bool ok = true;
    for (const SceneObject& p : others) ok = ok && overlap(o, p) <= max_overlap;
    if (ok) return true;
  }
  return false;
}

Background sample_background(Rng& rng) {
  Background b;
  const int kind = rng.below(3);
  b.kind = static_cast<BackgroundKind>(kind);
  // Dark, muted colours: the objects' saturated colours stay the salient things.
  auto muted = [&]() {
    const double v = rng.uniform(25, 85), s = rng.uniform(0.0, 0.35);
    const double base[3] = {rng.uniform(), rng.uniform(), rng.uniform()};
    Rgb c;
    std::uint8_t* ch[3] = {&c.r, &c.g, &c.b};
    for (int i = 0; i < 3; ++i) ch[i][0] = static_cast<std::uint8_t>(std::lround(v * (1 - s + s * base[i])));
    return c;
  };
  b.a = muted();
  b.b = muted();
  b.angle = static_cast<float>(rng.uniform(0, 2 * M_PI));
  if (b.kind == BackgroundKind::photo) {
    b.photo = rng.below(static_cast<int>(background_photos().size()));
    b.crop_x = static_cast<float>(rng.uniform());
    b.crop_y = static_cast<float>(rng.uniform());
    b.crop_scale = static_cast<float>(rng.uniform(0.35, 0.9));
  }
  return b;
}

}  // namespace setok::data
