#include "core/data/scene_language.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/data/assets.h"
#include "core/data/scene_sampler.h"

namespace setok::data {
namespace {

const char* const kNumbers[] = {"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"};

std::string number_word(int n) { return n >= 0 && n <= 10 ? kNumbers[n] : std::to_string(n); }

std::string join_list(const std::vector<std::string>& parts) {
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) s += (i + 1 == parts.size()) ? " and " : ", ";
    s += parts[i];
  }
  return s;
}

std::string colour_noun(const ObjectInfo& o) { return colour_name(o.colour) + " " + class_noun(o.cls); }

struct Group {
  int cls, colour;
  std::vector<int> members;  // indices into objs
  float leftmost;
};

// Objects grouped by (class, colour), ordered left to right by their leftmost member.
std::vector<Group> groups(const std::vector<ObjectInfo>& objs) {
  std::vector<Group> g;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    auto it = std::find_if(g.begin(), g.end(),
                           [&](const Group& x) { return x.cls == objs[i].cls && x.colour == objs[i].colour; });
    if (it == g.end()) {
      g.push_back({objs[i].cls, objs[i].colour, {static_cast<int>(i)}, objs[i].cx});
    } else {
      it->members.push_back(static_cast<int>(i));
      it->leftmost = std::min(it->leftmost, objs[i].cx);
    }
  }
  std::stable_sort(g.begin(), g.end(), [](const Group& a, const Group& b) { return a.leftmost < b.leftmost; });
  return g;
}

std::string group_phrase(const Group& g, const Scene& s, const std::vector<ObjectInfo>& objs, bool with_size) {
  if (g.members.size() == 1) return object_phrase(s.objects[objs[g.members[0]].object], with_size);
  return number_word(static_cast<int>(g.members.size())) + " " + colour_name(g.colour) + " " + class_plural(g.cls);
}

template <class Pred>
int count_if_objs(const std::vector<ObjectInfo>& objs, Pred p) {
  return static_cast<int>(std::count_if(objs.begin(), objs.end(), p));
}

// Shortest attribute description ("the star", "the red star", "the small red star") that matches
// only objs[i]; empty when its twins differ in nothing.
std::string attribute_ref(const std::vector<ObjectInfo>& objs, std::size_t i) {
  const ObjectInfo& t = objs[i];
  if (count_if_objs(objs, [&](const ObjectInfo& o) { return o.cls == t.cls; }) == 1) return "the " + class_noun(t.cls);
  if (count_if_objs(objs, [&](const ObjectInfo& o) { return o.cls == t.cls && o.colour == t.colour; }) == 1)
    return "the " + colour_noun(t);
  if (count_if_objs(
          objs, [&](const ObjectInfo& o) { return o.cls == t.cls && o.colour == t.colour && o.size == t.size; }) == 1)
    return "the " + size_name(t.size) + " " + colour_noun(t);
  return "";
}

// "the red star on the left" / "the leftmost red star" when objs[i] is clearly the extreme one of
// its (class, colour) twins along some direction.
std::string position_ref(const std::vector<ObjectInfo>& objs, std::size_t i, int px) {
  const ObjectInfo& t = objs[i];
  std::vector<const ObjectInfo*> twins;
  for (const ObjectInfo& o : objs)
    if (o.cls == t.cls && o.colour == t.colour) twins.push_back(&o);
  const float gap = 0.12f * px;  // a margin a person would agree with at a glance
  struct Dir {
    float (*key)(const ObjectInfo&);
    const char* pair;     // with two twins
    const char* extreme;  // with more
  };
  const Dir dirs[] = {
      {[](const ObjectInfo& o) { return o.cx; }, "on the left", "leftmost"},
      {[](const ObjectInfo& o) { return -o.cx; }, "on the right", "rightmost"},
      {[](const ObjectInfo& o) { return o.cy; }, "at the top", "topmost"},
      {[](const ObjectInfo& o) { return -o.cy; }, "at the bottom", "bottom-most"},
  };
  for (const Dir& d : dirs) {
    bool extreme = true;
    for (const ObjectInfo* o : twins)
      if (o != &t && d.key(*o) - d.key(t) < gap) extreme = false;
    if (!extreme) continue;
    if (twins.size() == 2) return "the " + colour_noun(t) + " " + d.pair;
    return std::string("the ") + d.extreme + " " + colour_noun(t);
  }
  return "";
}

}  // namespace

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string object_phrase(const SceneObject& o, bool with_size) {
  const std::string words =
      (with_size ? size_name(o.size) + " " : "") + colour_name(o.colour) + " " + class_noun(o.cls);
  return article(words) + " " + words;
}

std::string background_phrase(const Background& b) {
  switch (b.kind) {
    case BackgroundKind::plain:
      return "a plain dark background";
    case BackgroundKind::gradient:
      return "a dark gradient background";
    case BackgroundKind::photo:
      return "a blurred photo of " + background_photos().at(b.photo).phrase;
  }
  return "a background";
}

namespace {
// Row and column of (x, y) in the image's 3 × 3 grid.
std::pair<int, int> region_cell(float x, float y, int px) {
  auto third = [&](float v) { return v < px / 3.0f ? 0 : (v < 2 * px / 3.0f ? 1 : 2); };
  return {third(y), third(x)};
}
}  // namespace

std::string region_phrase(float x, float y, int px) {
  static const char* const names[3][3] = {{"in the top left", "at the top", "in the top right"},
                                          {"on the left", "in the middle", "on the right"},
                                          {"in the bottom left", "at the bottom", "in the bottom right"}};
  const auto [row, col] = region_cell(x, y, px);
  return names[row][col];
}

std::string region_word(float x, float y, int px) {
  static const char* const names[3][3] = {
      {"top left", "top", "top right"}, {"left", "middle", "right"}, {"bottom left", "bottom", "bottom right"}};
  const auto [row, col] = region_cell(x, y, px);
  return names[row][col];
}

std::vector<std::string> make_captions(const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng, int count) {
  const std::vector<Group> g = groups(objs);
  const std::string bg = background_phrase(s.background);
  std::vector<int> templates = {0, 1, 2, 3, 4};
  rng.shuffle(templates);
  std::vector<std::string> out;
  for (int k = 0; k < count && k < static_cast<int>(templates.size()); ++k) {
    const bool with_size = rng.chance(0.5);
    std::vector<std::string> parts;
    for (const Group& x : g) parts.push_back(group_phrase(x, s, objs, with_size));
    if (parts.empty()) {
      out.push_back(capitalised(bg) + " with nothing on it.");
      continue;
    }
    const std::string list = join_list(parts);
    switch (templates[k]) {
      case 0:
        out.push_back(capitalised(list) + " on " + bg + ".");
        break;
      case 1:
        out.push_back("A picture of " + list + " on " + bg + ".");
        break;
      case 2:
        out.push_back(std::string("There ") + (g[0].members.size() == 1 ? "is " : "are ") + list + " on " + bg + ".");
        break;
      case 3:
        out.push_back(capitalised(bg) + " with " + list + ".");
        break;
      default:
        out.push_back(parts.size() > 1 ? "From left to right: " + list + ", on " + bg + "."
                                       : capitalised(list) + " " +
                                             region_phrase(objs[g[0].members[0]].cx, objs[g[0].members[0]].cy, s.px) +
                                             ", on " + bg + ".");
    }
  }
  return out;
}

std::string make_prompt(const Scene& s) {
  std::vector<std::string> parts;
  for (const SceneObject& o : s.objects)
    parts.push_back(object_phrase(o, true) + " " + region_phrase(o.cx, o.cy, s.px));
  if (parts.empty()) return background_phrase(s.background);
  return join_list(parts) + ", on " + background_phrase(s.background);
}

namespace {

// How many objects of each class, colour and (class, colour) a scene has.
struct Census {
  std::map<int, int> per_class, per_colour;
  std::map<std::pair<int, int>, int> per_combo;
  explicit Census(const std::vector<ObjectInfo>& objs) {
    for (const ObjectInfo& o : objs) ++per_class[o.cls], ++per_colour[o.colour], ++per_combo[{o.cls, o.colour}];
  }
};

// How many objects; how many of a present class and of a present colour; half the time, how many
// of a class that may be absent (asked only when it is).
void count_questions(std::vector<QaPair>& qa, const std::vector<ObjectInfo>& objs, const Census& census, Rng& rng) {
  const int n = static_cast<int>(objs.size());
  qa.push_back({"count", rng.chance(0.5) ? "How many objects are there?" : "How many things are in the picture?",
                std::to_string(n)});
  if (n > 0) {
    const int cls = objs[rng.below(n)].cls;
    qa.push_back({"count", "How many " + class_plural(cls) + " are there?", std::to_string(census.per_class.at(cls))});
    const int colour = objs[rng.below(n)].colour;
    qa.push_back({"count", "How many " + colour_name(colour) + " objects are there?",
                  std::to_string(census.per_colour.at(colour))});
  }
  if (rng.chance(0.5)) {
    const int absent = rng.below(kNumClasses);
    if (!census.per_class.count(absent))
      qa.push_back({"count", "How many " + class_plural(absent) + " are there?", "0"});
  }
}

// Colour of a class seen once; class of a colour seen once (no random draws).
void attribute_questions(std::vector<QaPair>& qa, const std::vector<ObjectInfo>& objs, const Census& census) {
  for (const auto& [cls, c] : census.per_class)
    if (c == 1) {
      const auto& o = *std::find_if(objs.begin(), objs.end(), [&](const ObjectInfo& x) { return x.cls == cls; });
      qa.push_back({"colour", "What colour is the " + class_noun(cls) + "?", colour_name(o.colour)});
      break;
    }
  for (const auto& [colour, c] : census.per_colour)
    if (c == 1) {
      const auto& o = *std::find_if(objs.begin(), objs.end(), [&](const ObjectInfo& x) { return x.colour == colour; });
      const std::string q = is_shape(o.cls) ? "What shape is the " + colour_name(colour) + " object?"
                                            : "What kind of item is the " + colour_name(colour) + " object?";
      qa.push_back({"shape", q, class_noun(o.cls)});
      break;
    }
}

// Existence, one present and one absent (absent ones obey the split's hold-out too).
void existence_questions(std::vector<QaPair>& qa, const Scene& s, const std::vector<ObjectInfo>& objs,
                         const Census& census, Rng& rng) {
  const int n = static_cast<int>(objs.size());
  if (n > 0) {
    const ObjectInfo& o = objs[rng.below(n)];
    qa.push_back({"exist", "Is there " + article(colour_noun(o)) + " " + colour_noun(o) + "?", "yes"});
  }
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int cls = rng.below(kNumClasses), colour = rng.below(kNumColours);
    if (census.per_combo.count({cls, colour}) || !allowed(s.split, cls, colour)) continue;
    const std::string words = colour_name(colour) + " " + class_noun(cls);
    qa.push_back({"exist", "Is there " + article(words) + " " + words + "?", "no"});
    break;
  }
}

// Existence of a kind of thing whatever its colour, one present and one absent (asked after the
// first position question, so adding these left every earlier question of a seed as it was).
void kind_existence_questions(std::vector<QaPair>& qa, const std::vector<ObjectInfo>& objs, const Census& census,
                              Rng& rng) {
  const int n = static_cast<int>(objs.size());
  if (n > 0) {
    const std::string& noun = class_noun(objs[rng.below(n)].cls);
    qa.push_back({"exist", "Is there " + article(noun) + " " + noun + " in the picture?", "yes"});
  }
  if (static_cast<int>(census.per_class.size()) < kNumClasses) {
    int absent = rng.below(kNumClasses);
    while (census.per_class.count(absent)) absent = (absent + 1) % kNumClasses;
    const std::string& noun = class_noun(absent);
    qa.push_back({"exist", "Is there " + article(noun) + " " + noun + " in the picture?", "no"});
  }
}

// Relative position between two objects that each have an attribute description. Made (which
// shuffles the named objects) where the first question is due; the others are asked later.
class PositionQuestions {
 public:
  PositionQuestions(const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng)
      : objs_(objs), rng_(rng), margin_(0.15f * s.px) {
    for (int i = 0; i < static_cast<int>(objs.size()); ++i) {
      std::string r = attribute_ref(objs, i);
      if (!r.empty()) named_.emplace_back(i, r);
    }
    rng_.shuffle(named_);
    // Pairs in order (a < b); the first that can be asked about is asked first, the others at the end.
    for (std::size_t a = 0; a < named_.size(); ++a)
      for (std::size_t b = a + 1; b < named_.size(); ++b) pairs_.emplace_back(a, b);
  }

  // The first pair that can be asked about, when any question is wanted.
  void ask_first(std::vector<QaPair>& qa, int position_questions) {
    if (position_questions > 0)
      while (next_pair_ < pairs_.size()) {
        const auto [a, b] = pairs_[next_pair_++];
        if (auto q = question(a, b)) {
          qa.push_back(std::move(*q));
          break;
        }
      }
  }

  // Up to position_questions in all, from the pairs after the first.
  void ask_rest(std::vector<QaPair>& qa, int position_questions) {
    for (int asked = 1; asked < position_questions && next_pair_ < pairs_.size();) {
      // Asked the other way round half the time, so either object may come first.
      auto [a, b] = pairs_[next_pair_++];
      if (rng_.chance(0.5)) std::swap(a, b);
      if (auto q = question(a, b)) qa.push_back(std::move(*q)), ++asked;
    }
  }

 private:
  // The question about objects a and b of named_, or nothing when their centroids are too close.
  std::optional<QaPair> question(std::size_t a, std::size_t b) {
    const ObjectInfo &p = objs_[named_[a].first], &q = objs_[named_[b].first];
    const float dx = q.cx - p.cx, dy = q.cy - p.cy;
    std::string rel;
    bool truth;
    if (std::abs(dx) >= margin_ && std::abs(dx) >= std::abs(dy)) {
      const bool ask_left = rng_.chance(0.5);
      rel = ask_left ? "to the left of" : "to the right of";
      truth = ask_left ? dx > 0 : dx < 0;
    } else if (std::abs(dy) >= margin_) {
      const bool ask_above = rng_.chance(0.5);
      rel = ask_above ? "above" : "below";
      truth = ask_above ? dy > 0 : dy < 0;
    } else {
      return std::nullopt;
    }
    return QaPair{"position", "Is " + named_[a].second + " " + rel + " " + named_[b].second + "?",
                  truth ? "yes" : "no"};
  }

  const std::vector<ObjectInfo>& objs_;
  Rng& rng_;
  const float margin_;
  std::vector<std::pair<int, std::string>> named_;
  std::vector<std::pair<std::size_t, std::size_t>> pairs_;
  std::size_t next_pair_ = 0;
};

// Where single objects are: those named by attributes whose centroid is clear of the thirds'
// lines by 4 % of the image, in a random order.
void where_is_questions(std::vector<QaPair>& qa, const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng,
                        int count) {
  if (count <= 0) return;
  const int n = static_cast<int>(objs.size());
  const float clear = 0.04f * s.px;
  auto off_lines = [&](float v) {
    return std::abs(v - s.px / 3.0f) >= clear && std::abs(v - 2 * s.px / 3.0f) >= clear;
  };
  std::vector<std::pair<int, std::string>> where;
  for (int i = 0; i < n; ++i) {
    std::string r = attribute_ref(objs, i);
    if (!r.empty() && off_lines(objs[i].cx) && off_lines(objs[i].cy)) where.emplace_back(i, std::move(r));
  }
  rng.shuffle(where);
  for (std::size_t k = 0; k < where.size() && static_cast<int>(k) < count; ++k) {
    const ObjectInfo& o = objs[where[k].first];
    qa.push_back({"where", "Where is " + where[k].second + "?", region_word(o.cx, o.cy, s.px)});
  }
}

}  // namespace

// The steps come in the order of their random draws: a new kind of question goes after the others,
// so that adding it leaves every earlier question of a seed as it was.
std::vector<QaPair> make_questions(const Scene& s, const std::vector<ObjectInfo>& objs, Rng& rng,
                                   int position_questions, int where_questions) {
  std::vector<QaPair> qa;
  const Census census(objs);
  count_questions(qa, objs, census, rng);
  attribute_questions(qa, objs, census);
  existence_questions(qa, s, objs, census, rng);
  PositionQuestions positions(s, objs, rng);
  positions.ask_first(qa, position_questions);
  kind_existence_questions(qa, objs, census, rng);
  positions.ask_rest(qa, position_questions);
  where_is_questions(qa, s, objs, rng, where_questions);
  return qa;
}

std::vector<ReferringExpression> make_refs(const Scene& s, const std::vector<ObjectInfo>& objs) {
  std::vector<ReferringExpression> refs;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const ObjectInfo& t = objs[i];
    ReferringExpression r;
    r.object = t.object;
    const std::string attr = attribute_ref(objs, i);
    if (!attr.empty()) {
      r.sentences.push_back(attr);
      const std::string full = "the " + size_name(t.size) + " " + colour_noun(t);
      if (full != attr) r.sentences.push_back(full);
      r.sentences.push_back(full + " " + region_phrase(t.cx, t.cy, s.px));
    } else {
      const std::string pos = position_ref(objs, i, s.px);
      if (pos.empty()) continue;
      r.sentences.push_back(pos);
    }
    refs.push_back(std::move(r));
  }
  return refs;
}

}  // namespace setok::data
