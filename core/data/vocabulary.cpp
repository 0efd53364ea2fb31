#include "core/data/vocabulary.h"

#include <cctype>
#include <vector>

namespace setok::data {
namespace {

struct ClassWords {
  std::string name, noun, plural;
};

const std::vector<ClassWords>& classes() {
  static const std::vector<ClassWords> v = {
      {"circle", "circle", "circles"},
      {"square", "square", "squares"},
      {"triangle", "triangle", "triangles"},
      {"star", "star", "stars"},
      {"ring", "ring", "rings"},
      {"cross", "cross", "crosses"},
      {"hexagon", "hexagon", "hexagons"},
      {"ellipse", "ellipse", "ellipses"},
      {"T-shirt/top", "t-shirt", "t-shirts"},
      {"Trouser", "pair of trousers", "pairs of trousers"},
      {"Pullover", "pullover", "pullovers"},
      {"Dress", "dress", "dresses"},
      {"Coat", "coat", "coats"},
      {"Sandal", "sandal", "sandals"},
      {"Shirt", "shirt", "shirts"},
      {"Sneaker", "sneaker", "sneakers"},
      {"Bag", "bag", "bags"},
      {"Ankle boot", "ankle boot", "ankle boots"},
  };
  return v;
}

// Saturated, mutually distinct hues; backgrounds are kept dark and muted so these stay salient.
const std::array<std::pair<std::string, Rgb>, kNumColours> kColours = {{
    {"red", {220, 30, 30}},
    {"green", {30, 190, 60}},
    {"blue", {40, 90, 235}},
    {"yellow", {245, 225, 30}},
    {"purple", {150, 60, 210}},
    {"orange", {250, 140, 20}},
    {"cyan", {30, 215, 225}},
    {"pink", {250, 135, 195}},
}};

const std::array<std::string, kNumSizes> kSizes = {"small", "medium", "large"};
const std::array<float, kNumSizes> kSizeFractions = {0.16f, 0.25f, 0.36f};

// Shape index -> held-out colour index: a permutation, so every shape and colour is seen in
// training, only these pairings are not.
//   circle-purple, square-orange, triangle-cyan, star-pink, ring-red, cross-yellow,
//   hexagon-green, ellipse-blue
const std::array<int, kNumShapes> kHeldOut = {4, 5, 6, 7, 0, 3, 1, 2};

}  // namespace

const std::string& class_name(int cls) { return classes().at(cls).name; }
const std::string& class_noun(int cls) { return classes().at(cls).noun; }
const std::string& class_plural(int cls) { return classes().at(cls).plural; }
std::string category_noun(const std::string& name) {
  for (const ClassWords& c : classes())
    if (c.name == name) return c.noun;
  return name;
}
const std::string& colour_name(int colour) { return kColours.at(colour).first; }
Rgb colour_rgb(int colour) { return kColours.at(colour).second; }
const std::string& size_name(int size) { return kSizes.at(size); }
float size_fraction(int size) { return kSizeFractions.at(size); }

bool is_held_out(int cls, int colour) { return is_shape(cls) && kHeldOut[cls] == colour; }
int held_out_colour(Shape s) { return kHeldOut[static_cast<int>(s)]; }

std::string article(const std::string& phrase) {
  if (phrase.empty()) return "a";
  char c = static_cast<char>(std::tolower(static_cast<unsigned char>(phrase[0])));
  return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') ? "an" : "a";
}

}  // namespace setok::data
