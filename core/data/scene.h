#pragma once
// A scene's description: everything needed to render it, nothing rendered. Edits change the
// description and the renderer draws the target again, so an edit's target image is exact.
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/vocabulary.h"

namespace setok::data {

enum class BackgroundKind : int { plain, gradient, photo };

struct Background {
  BackgroundKind kind = BackgroundKind::plain;
  Rgb a{40, 40, 40}, b{40, 40, 40};  // plain colour; gradient ends
  float angle = 0;                   // gradient direction, radians
  int photo = -1;                    // index into background_photos()
  float crop_x = 0, crop_y = 0;      // photo crop's top-left, as a fraction of the free room
  float crop_scale = 1;              // crop side as a fraction of the photo's shorter side
};

struct SceneObject {
  int cls = 0;             // see vocabulary.h: shape or Fashion-MNIST item
  int colour = 0;          // named colour
  int size = 1;            // small, medium, large
  float cx = 0, cy = 0;    // centre, pixels
  float extent = 0;        // side of the square the object fills, pixels
  float rotation = 0;      // radians (shapes only)
  int item = -1;           // Fashion-MNIST item index
  bool item_train = true;  // from the training file (train/val scenes) or the test file
};

enum class Split : int { train = 0, val = 1, test = 2, compositional = 3 };
Split parse_split(const std::string& name);  // throws setok::Error
const char* split_name(Split s);

struct Scene {
  int px = 128;
  Split split = Split::train;
  std::uint64_t seed = 0;
  std::int64_t index = 0;
  Background background;
  std::vector<SceneObject> objects;  // drawing order: objects[0] is furthest back
};

// Smallest visible area (pixels) an object may keep; smaller ones are dropped from the scene.
int min_visible_pixels(int px);

}  // namespace setok::data
