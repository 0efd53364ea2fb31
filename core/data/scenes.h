#pragma once
// The scenes world: one call turns (seed, split, index) into an image and all its ground truth.
// Deterministic: the same arguments give the same pixels and annotations on any machine and with
// any number of threads. docs/design/scenes.md.
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/scene_edits.h"
#include "core/data/scene_language.h"

namespace setok::data {

struct SceneOptions {
  int px = 128;
  std::uint64_t seed = 0;
  Split split = Split::train;
  bool edits = true;  // edits render the scene again up to four times
  // Relative-position questions per image, at most (one pair of objects each). The first is asked
  // where it always was; more are appended after every other question, so a larger number leaves
  // the questions of the default unchanged.
  int position_questions = 1;
  // "Where is the red star?" — "top left", "top", …, "bottom right" (the object's ninth of the
  // image), about at most this many objects per image, appended after all the others. None by
  // default; objects whose centroid lies near a third's line are not asked about.
  int where_questions = 0;
};

struct GeneratedScene {
  Scene scene;
  io::Image image;
  std::vector<ObjectInfo> objects;  // one per scene object, same order (depth order)
  std::vector<std::string> captions;
  std::string prompt;
  std::vector<QaPair> questions;
  std::vector<ReferringExpression> refs;
  std::vector<SceneEdit> edits;
};

// The description alone (rendered once inside, to drop objects that end up nearly hidden).
Scene sample_scene(const SceneOptions& opt, std::int64_t index);
GeneratedScene generate_scene(const SceneOptions& opt, std::int64_t index);

}  // namespace setok::data
