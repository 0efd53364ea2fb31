#include "core/data/scenes.h"

#include <algorithm>

#include "core/data/scene_render.h"
#include "core/data/scene_sampler.h"
#include "core/runtime/error.h"

namespace setok::data {
namespace {

// Independent streams per purpose: changing how captions are worded never moves an object.
enum Stream : std::uint64_t { kLayout = 0, kLanguage = 1, kEdits = 2 };

Rng stream(const SceneOptions& opt, Stream s, std::int64_t index) {
  return Rng(opt.seed, static_cast<std::uint64_t>(opt.split) * 16 + s, static_cast<std::uint64_t>(index));
}

bool has_held_out(const Scene& s) {
  return std::any_of(s.objects.begin(), s.objects.end(),
                     [](const SceneObject& o) { return is_held_out(o.cls, o.colour); });
}

// Draws layouts until one satisfies the split; returns it with its rendering.
Scene sample(const SceneOptions& opt, std::int64_t index, RenderedScene* rendered) {
  if (opt.px < 32 || opt.px > 4096) throw Error("scene size must be 32..4096 pixels, got " + std::to_string(opt.px));
  Rng rng = stream(opt, kLayout, index);
  const int floor = min_visible_pixels(opt.px);
  for (;;) {
    Scene s;
    s.px = opt.px;
    s.split = opt.split;
    s.seed = opt.seed;
    s.index = index;
    s.background = sample_background(rng);
    const int n = 1 + rng.below(6);
    // The compositional split shows at least one held-out combination, at a random depth.
    const int held = opt.split == Split::compositional ? rng.below(n) : -1;
    for (int k = 0; k < n; ++k) {
      SceneObject o = sample_object(rng, opt.split, opt.px, k == held);
      place_object(rng, o, opt.px, s.objects, 0.3f);
      s.objects.push_back(o);
    }
    // Drop what is nearly hidden, then draw again: dropping only ever reveals more of the rest.
    RenderedScene r = render_scene(s);
    for (;;) {
      std::vector<SceneObject> kept;
      for (std::size_t k = 0; k < s.objects.size(); ++k)
        if (std::count(r.visible[k].begin(), r.visible[k].end(), 1) >= floor) kept.push_back(s.objects[k]);
      if (kept.size() == s.objects.size()) break;
      s.objects = std::move(kept);
      r = render_scene(s);
    }
    if (s.objects.empty() || (opt.split == Split::compositional && !has_held_out(s))) continue;
    if (rendered) *rendered = std::move(r);
    return s;
  }
}

}  // namespace

Scene sample_scene(const SceneOptions& opt, std::int64_t index) { return sample(opt, index, nullptr); }

GeneratedScene generate_scene(const SceneOptions& opt, std::int64_t index) {
  GeneratedScene g;
  RenderedScene r;
  g.scene = sample(opt, index, &r);
  g.objects = measure_objects(g.scene, r);
  g.image = std::move(r.image);
  Rng words = stream(opt, kLanguage, index);
  g.captions = make_captions(g.scene, g.objects, words, 3);
  g.prompt = make_prompt(g.scene);
  g.questions = make_questions(g.scene, g.objects, words, opt.position_questions, opt.where_questions);
  g.refs = make_refs(g.scene, g.objects);
  if (opt.edits) {
    Rng e = stream(opt, kEdits, index);
    g.edits = make_edits(g.scene, g.refs, e);
  }
  return g;
}

}  // namespace setok::data
