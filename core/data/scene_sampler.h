#pragma once
// Draws scene descriptions: which objects, where, on what background. Deterministic in the Rng.
#include "core/data/rng.h"
#include "core/data/scene.h"

namespace setok::data {

// An object's class, colour and size, obeying the split's hold-out rule (train/val/test never draw
// a held-out combination). `force_held_out` draws one of the held-out combinations.
SceneObject sample_object(Rng& rng, Split split, int px, bool force_held_out);

// Places `o` in the image, trying to keep its overlap with `others` small (max_overlap: fraction of
// the smaller bounding square). Returns false if no place was found (o keeps the last try).
bool place_object(Rng& rng, SceneObject& o, int px, const std::vector<SceneObject>& others, float max_overlap);

Background sample_background(Rng& rng);

// Whether the colour may be given to class `cls` in a scene of this split.
bool allowed(Split split, int cls, int colour);

// Fraction of the smaller of two objects' bounding squares that they share.
float overlap(const SceneObject& a, const SceneObject& b);

}  // namespace setok::data
