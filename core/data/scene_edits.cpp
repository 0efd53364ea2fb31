#include "core/data/scene_edits.h"

#include <algorithm>

#include "core/data/scene_render.h"
#include "core/data/scene_sampler.h"

namespace setok::data {
namespace {

// Every object keeps enough visible pixels to be annotated.
bool acceptable(const Scene& s, const RenderedScene& r) {
  const int floor = min_visible_pixels(s.px);
  for (const auto& v : r.visible)
    if (std::count(v.begin(), v.end(), 1) < floor) return false;
  return true;
}

bool finish(SceneEdit& e, std::vector<SceneEdit>& out) {
  RenderedScene r = render_scene(e.edited);
  if (!acceptable(e.edited, r)) return false;
  e.image = std::move(r.image);
  out.push_back(std::move(e));
  return true;
}

}  // namespace

std::vector<SceneEdit> make_edits(const Scene& s, const std::vector<ReferringExpression>& refs, Rng& rng) {
  std::vector<SceneEdit> out;
  const int px = s.px;
  auto ref_text = [&](const ReferringExpression& r) { return r.sentences.front(); };

  if (!refs.empty()) {  // recolour
    const ReferringExpression& r = rng.pick(refs);
    SceneEdit e{"recolour", "", r.object, s, {}};
    SceneObject& o = e.edited.objects[r.object];
    int c;
    do c = rng.below(kNumColours);
    while (c == o.colour || !allowed(s.split, o.cls, c));
    o.colour = c;
    const char* const t[] = {"make %s %s.", "change the colour of %s to %s.", "turn %s %s.", "paint %s %s."};
    const std::string fmt = t[rng.below(4)];
    std::string ins = fmt.substr(0, fmt.find("%s")) + ref_text(r) + fmt.substr(fmt.find("%s") + 2);
    ins.replace(ins.find("%s"), 2, colour_name(c));
    e.instruction = capitalised(ins);
    finish(e, out);
  }
  if (!refs.empty()) {  // remove
    const ReferringExpression& r = rng.pick(refs);
    SceneEdit e{"remove", "", r.object, s, {}};
    e.edited.objects.erase(e.edited.objects.begin() + r.object);
    const char* const t[] = {"Remove ", "Delete ", "Take away ", "Get rid of "};
    e.instruction = t[rng.below(4)] + ref_text(r) + ".";
    finish(e, out);
  }
  if (s.objects.size() < 6) {  // add, on top, where it hides little
    for (int attempt = 0; attempt < 5; ++attempt) {
      SceneEdit e{"add", "", static_cast<int>(s.objects.size()), s, {}};
      SceneObject o = sample_object(rng, s.split, px, false);
      if (!place_object(rng, o, px, s.objects, 0.1f)) continue;
      e.edited.objects.push_back(o);
      e.instruction =
          (rng.chance(0.5) ? "Add " : "Put ") + object_phrase(o, true) + " " + region_phrase(o.cx, o.cy, px) + ".";
      if (finish(e, out)) break;
    }
  }
  if (!refs.empty()) {  // move by a quarter of the image
    for (int attempt = 0; attempt < 5; ++attempt) {
      const ReferringExpression& r = rng.pick(refs);
      SceneEdit e{"move", "", r.object, s, {}};
      SceneObject& o = e.edited.objects[r.object];
      const int d = rng.below(4);
      const float step = 0.25f * px, margin = is_shape(o.cls) ? o.extent / 2 + 1 : o.extent * 0.4f;
      const float dx[] = {-step, step, 0, 0}, dy[] = {0, 0, -step, step};
      o.cx += dx[d];
      o.cy += dy[d];
      if (o.cx < margin || o.cx > px - margin || o.cy < margin || o.cy > px - margin) continue;
      const char* const where[] = {" to the left.", " to the right.", " up.", " down."};
      e.instruction = (rng.chance(0.5) ? "Move " : "Shift ") + ref_text(r) + where[d];
      if (finish(e, out)) break;
    }
  }
  return out;
}

}  // namespace setok::data
