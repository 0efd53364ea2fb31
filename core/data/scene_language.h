#pragma once
// The words about a scene: captions, a generation prompt, question-answer pairs and referring
// expressions, all true of the rendered image (positions come from the visible parts).
#include <string>
#include <vector>

#include "core/data/rng.h"
#include "core/data/scene_objects.h"

namespace setok::data {

struct QaPair {
  std::string kind;  // count, colour, shape, exist, position
  std::string question, answer;
};

struct ReferringExpression {
  int object = 0;                      // index into Scene::objects
  std::vector<std::string> sentences;  // each alone picks out exactly this object
};

// "a small red circle", "two blue stars"; with_size adds the size word to single objects.
std::string object_phrase(const SceneObject& o, bool with_size);
// What comes after "on": "a plain dark background", "a blurred photo of grass".
std::string background_phrase(const Background& b);
// "in the top left", "on the right", "in the middle": where (x, y) falls in a 3x3 grid.
std::string region_phrase(float x, float y, int px);

std::vector<std::string> make_captions(const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng, int count);
// Text-to-image prompt: every object with its size and place, deterministic (an edit's target prompt too).
std::string make_prompt(const Scene& s);
// At most `position_questions` relative-position questions and `where_questions` questions of
// where an object is (see SceneOptions).
std::vector<QaPair> make_questions(const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng,
                                   int position_questions = 1, int where_questions = 0);
// "top left", "top", "top right", "left", "middle", …: the answer to "Where is …?" for (x, y).
std::string region_word(float x, float y, int px);
// One per object that can be singled out by attributes or by an extreme position.
std::vector<ReferringExpression> make_refs(const Scene& s, const std::vector<ObjectInfo>& objs);

// "Make ..." from "make ...".
std::string capitalised(std::string s);

}  // namespace setok::data
