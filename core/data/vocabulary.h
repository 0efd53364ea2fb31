#pragma once
// The scenes world's vocabulary: shapes, Fashion-MNIST items, named colours, sizes, and the
// (shape, colour) combinations held out for the compositional split. docs/design/scenes.md.
#include <array>
#include <cstdint>
#include <string>

namespace setok::data {

enum class Shape : int { circle, square, triangle, star, ring, cross, hexagon, ellipse };
constexpr int kNumShapes = 8;
constexpr int kNumFashion = 10;  // Fashion-MNIST labels 0..9
constexpr int kNumColours = 8;
constexpr int kNumSizes = 3;

// An object's class: a procedural shape (0..7) or a Fashion-MNIST item (8..17). One numbering so
// that COCO category ids are simply class + 1.
constexpr int kNumClasses = kNumShapes + kNumFashion;
inline bool is_shape(int cls) { return cls < kNumShapes; }
inline int fashion_class(int label) { return kNumShapes + label; }

struct Rgb {
  std::uint8_t r, g, b;
};

// COCO category name: the shape's name or Fashion-MNIST's own label ("T-shirt/top", "Ankle boot").
const std::string& class_name(int cls);
// Words a sentence uses: "circle"/"circles", "pair of trousers"/"pairs of trousers".
const std::string& class_noun(int cls);
const std::string& class_plural(int cls);
// The words for a COCO category name in a sentence: the world's noun for one of its classes
// ("Ankle boot" -> "ankle boot", "Trouser" -> "pair of trousers"), any other name as it is.
std::string category_noun(const std::string& name);

const std::string& colour_name(int colour);
Rgb colour_rgb(int colour);

const std::string& size_name(int size);  // small, medium, large
// An object's extent as a fraction of the image side.
float size_fraction(int size);

// The compositional hold-out: each shape paired with one colour, each colour used once (8 of the
// 64 shape x colour combinations). They never occur in train/val/test, edits included.
bool is_held_out(int cls, int colour);
// The held-out colour for a shape.
int held_out_colour(Shape s);

// "a" or "an" for a phrase.
std::string article(const std::string& phrase);

}  // namespace setok::data
