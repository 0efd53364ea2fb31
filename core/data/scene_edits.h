#pragma once
// Edit instructions (recolour, remove, add, move) with the edited scene drawn again from its
// description, so the target image is exactly what the instruction asks for.
#include <string>
#include <vector>

#include "core/data/rng.h"
#include "core/data/scene_language.h"

namespace setok::data {

struct SceneEdit {
  std::string kind;         // recolour, remove, add, move
  std::string instruction;  // "Make the red circle blue."
  int target = -1;          // index into the original Scene::objects; for add, into the edited one
  Scene edited;
  io::Image image;  // the edited scene, rendered
};

// At most one edit of each kind; an edit whose result would hide some object (below the
// visibility floor) is redrawn or skipped.
std::vector<SceneEdit> make_edits(const Scene& s, const std::vector<ReferringExpression>& refs, Rng& rng);

}  // namespace setok::data
