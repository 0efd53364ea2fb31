// The scenes world: deterministic, masks true to the pixels, the compositional hold-out kept,
// language true of the image, edits exact. Needs Debian's dataset-fashion-mnist, opencv-doc and the
// unpacked python3-skimage photos (packaging/install-deps.sh): without them these tests fail.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/data/assets.h"
#include "core/data/fashion_mnist.h"
#include "core/data/scene_render.h"
#include "core/data/scene_sampler.h"
#include "core/data/scenes.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok::data;

namespace {

SceneOptions opts(Split split = Split::train, std::uint64_t seed = 11) {
  SceneOptions o;
  o.split = split;
  o.seed = seed;
  return o;
}

int dist2(const std::uint8_t* p, Rgb c) {
  const int dr = p[0] - c.r, dg = p[1] - c.g, db = p[2] - c.b;
  return dr * dr + dg * dg + db * db;
}

// A reader of our own referring expressions that knows nothing of how they were made: filter by
// the words, then resolve position words. Returns the object index, or -1 if ambiguous.
int resolve(const std::string& sentence, const std::vector<ObjectInfo>& objs, int px) {
  std::string s = sentence;
  EXPECT_EQ(s.rfind("the ", 0), 0u) << s;
  s = s.substr(4);
  std::string extreme, suffix;
  for (const char* e : {"leftmost ", "rightmost ", "topmost ", "bottom-most "})
    if (s.rfind(e, 0) == 0) extreme = e, s = s.substr(extreme.size());
  for (const char* r : {" in the top left", " at the top", " in the top right", " on the left", " in the middle",
                        " on the right", " in the bottom left", " at the bottom", " in the bottom right"}) {
    const std::string rr = r;
    if (s.size() > rr.size() && s.compare(s.size() - rr.size(), rr.size(), rr) == 0)
      suffix = rr.substr(1), s.resize(s.size() - rr.size());
  }
  int size = -1, colour = -1, cls = -1;
  for (int k = 0; k < kNumSizes; ++k)
    if (s.rfind(size_name(k) + " ", 0) == 0) size = k, s = s.substr(size_name(k).size() + 1);
  for (int k = 0; k < kNumColours; ++k)
    if (s.rfind(colour_name(k) + " ", 0) == 0) colour = k, s = s.substr(colour_name(k).size() + 1);
  for (int k = 0; k < kNumClasses; ++k)
    if (s == class_noun(k)) cls = k;
  EXPECT_GE(cls, 0) << "unknown noun in '" << sentence << "'";
  std::vector<const ObjectInfo*> c;
  for (const ObjectInfo& o : objs)
    if (o.cls == cls && (colour < 0 || o.colour == colour) && (size < 0 || o.size == size)) c.push_back(&o);
  if (c.size() == 1) {
    if (!suffix.empty()) {
      EXPECT_EQ(region_phrase(c[0]->cx, c[0]->cy, px), suffix) << sentence;
    }
    return c[0]->object;
  }
  auto key = [&](const ObjectInfo* o) -> float {
    if (extreme == "leftmost " || suffix == "on the left") return o->cx;
    if (extreme == "rightmost " || suffix == "on the right") return -o->cx;
    if (extreme == "topmost " || suffix == "at the top") return o->cy;
    if (extreme == "bottom-most " || suffix == "at the bottom") return -o->cy;
    return NAN;
  };
  if (c.empty() || std::isnan(key(c[0]))) return -1;
  if (!extreme.empty() == (c.size() == 2)) return -1;  // "on the left" for pairs, "leftmost" for more
  std::sort(c.begin(), c.end(), [&](auto* a, auto* b) { return key(a) < key(b); });
  if (key(c[1]) - key(c[0]) < 0.1f * px) return -1;  // a person could not tell
  return c[0]->object;
}

// Scene i generated with `more` (more questions): its questions must start with the default's,
// unchanged. Returns it and, in `defaults`, how many the default asks.
GeneratedScene with_more_questions(SceneOptions more, int i, std::size_t* defaults) {
  more.edits = false;
  const GeneratedScene d = generate_scene(opts(), i), m = generate_scene(more, i);
  EXPECT_GE(m.questions.size(), d.questions.size());
  for (std::size_t k = 0; k < d.questions.size() && k < m.questions.size(); ++k)
    EXPECT_EQ(m.questions[k].question, d.questions[k].question) << "scene " << i;
  *defaults = d.questions.size();
  return m;
}

}  // namespace

TEST(Scenes, SameSeedAndIndexGiveIdenticalScenes) {
  for (std::int64_t i : {0, 7, 123}) {
    GeneratedScene a = generate_scene(opts(), i), b = generate_scene(opts(), i);
    EXPECT_EQ(a.image.rgb, b.image.rgb);
    ASSERT_EQ(a.objects.size(), b.objects.size());
    for (std::size_t k = 0; k < a.objects.size(); ++k) EXPECT_EQ(a.objects[k].mask, b.objects[k].mask);
    EXPECT_EQ(a.captions, b.captions);
    EXPECT_EQ(a.prompt, b.prompt);
    ASSERT_EQ(a.questions.size(), b.questions.size());
    for (std::size_t k = 0; k < a.questions.size(); ++k) EXPECT_EQ(a.questions[k].question, b.questions[k].question);
    ASSERT_EQ(a.edits.size(), b.edits.size());
    for (std::size_t k = 0; k < a.edits.size(); ++k) EXPECT_EQ(a.edits[k].image.rgb, b.edits[k].image.rgb);
  }
  EXPECT_NE(generate_scene(opts(), 1).image.rgb, generate_scene(opts(), 2).image.rgb);
  EXPECT_NE(generate_scene(opts(), 1).image.rgb, generate_scene(opts(Split::train, 12), 1).image.rgb);
  EXPECT_NE(generate_scene(opts(Split::train), 1).image.rgb, generate_scene(opts(Split::test), 1).image.rgb);
}

TEST(Scenes, WorldUsesEverythingItOffers) {
  std::set<int> classes, colours, sizes, backgrounds, counts;
  for (int i = 0; i < 300; ++i) {
    Scene s = sample_scene(opts(), i);
    backgrounds.insert(static_cast<int>(s.background.kind));
    counts.insert(static_cast<int>(s.objects.size()));
    for (const SceneObject& o : s.objects) classes.insert(o.cls), colours.insert(o.colour), sizes.insert(o.size);
  }
  EXPECT_EQ(classes.size(), static_cast<std::size_t>(kNumClasses));
  EXPECT_EQ(colours.size(), static_cast<std::size_t>(kNumColours));
  EXPECT_EQ(sizes.size(), 3u);
  EXPECT_EQ(backgrounds.size(), 3u);
  EXPECT_EQ(*counts.begin(), 1);
  EXPECT_EQ(*counts.rbegin(), 6);
}

TEST(Scenes, VisibleMasksHaveTheObjectsColour) {
  int checked = 0;
  for (int i = 0; checked < 30 && i < 400; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    if (g.scene.background.kind != BackgroundKind::plain) continue;
    ++checked;
    const int px = g.scene.px;
    const Rgb bg = g.scene.background.a;
    const RenderedScene r = render_scene(g.scene);
    for (const ObjectInfo& o : g.objects) {
      EXPECT_GE(o.area, min_visible_pixels(px));
      if (!is_shape(o.cls)) continue;
      const Rgb c = colour_rgb(o.colour);
      for (int y = 0; y < px; ++y)
        for (int x = 0; x < px; ++x) {
          if (!o.mask[y * px + x]) continue;
          const std::uint8_t* p = &g.image.rgb[3 * (y * px + x)];
          // Where it is over bare background, every visible pixel is mostly this object...
          bool alone = true;
          for (std::size_t k = 0; k < r.alpha.size(); ++k)
            alone = alone && (static_cast<int>(k) == o.object || r.alpha[k][y * px + x] == 0);
          if (alone) {
            ASSERT_LT(dist2(p, c), dist2(p, bg)) << "scene " << i << " object " << o.object;
          }
          // ...and two pixels inside the mask's edge, its colour (up to OpenCV's anti-aliasing rounding).
          bool inner = y >= 2 && x >= 2 && y < px - 2 && x < px - 2;
          for (int dy = -2; inner && dy <= 2; ++dy)
            for (int dx = -2; inner && dx <= 2; ++dx) inner = o.mask[(y + dy) * px + x + dx];
          if (inner) {
            ASSERT_LE(dist2(p, c), 27) << "scene " << i << " object " << o.object;
          }
        }
    }
  }
  EXPECT_EQ(checked, 30);
}

TEST(Scenes, CompositionalCombinationsNeverInTrainingAndAlwaysInCompositional) {
  for (int i = 0; i < 2000; ++i)
    for (const SceneObject& o : sample_scene(opts(Split::train), i).objects)
      ASSERT_FALSE(is_held_out(o.cls, o.colour))
          << "train scene " << i << ": " << colour_name(o.colour) << " " << class_name(o.cls);
  for (Split sp : {Split::val, Split::test})
    for (int i = 0; i < 300; ++i)
      for (const SceneObject& o : sample_scene(opts(sp), i).objects) ASSERT_FALSE(is_held_out(o.cls, o.colour));
  // Edits are training data too: no recolour or add may create a held-out combination.
  for (int i = 0; i < 150; ++i)
    for (const SceneEdit& e : generate_scene(opts(Split::train), i).edits)
      for (const SceneObject& o : e.edited.objects) ASSERT_FALSE(is_held_out(o.cls, o.colour)) << e.instruction;
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    bool any = false;
    for (const SceneObject& o : sample_scene(opts(Split::compositional), i).objects)
      if (is_held_out(o.cls, o.colour)) any = true, seen.insert(o.cls);
    ASSERT_TRUE(any) << "compositional scene " << i;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kNumShapes));
}

TEST(Scenes, AnswersAgreeWithTheAnnotations) {
  std::map<std::string, int> kinds, class_only;
  for (int i = 0; i < 150; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    const auto& objs = g.objects;
    auto count = [&](auto pred) { return std::to_string(std::count_if(objs.begin(), objs.end(), pred)); };
    for (const QaPair& q : g.questions) {
      ++kinds[q.kind];
      const std::string& t = q.question;
      if (q.kind == "count") {
        std::string expect;
        if (t == "How many objects are there?" || t == "How many things are in the picture?")
          expect = std::to_string(objs.size());
        for (int c = 0; c < kNumClasses; ++c)
          if (t == "How many " + class_plural(c) + " are there?")
            expect = count([&](const ObjectInfo& o) { return o.cls == c; });
        for (int c = 0; c < kNumColours; ++c)
          if (t == "How many " + colour_name(c) + " objects are there?")
            expect = count([&](const ObjectInfo& o) { return o.colour == c; });
        EXPECT_EQ(q.answer, expect) << t;
      } else if (q.kind == "exist") {
        bool found = false, matched = false;
        for (int cls = 0; cls < kNumClasses; ++cls)
          for (int c = 0; c < kNumColours; ++c) {
            const std::string w = colour_name(c) + " " + class_noun(cls);
            if (t != "Is there " + article(w) + " " + w + "?") continue;
            matched = true;
            found = std::any_of(objs.begin(), objs.end(),
                                [&](const ObjectInfo& o) { return o.cls == cls && o.colour == c; });
          }
        for (int cls = 0; cls < kNumClasses; ++cls) {
          const std::string& w = class_noun(cls);
          if (t != "Is there " + article(w) + " " + w + " in the picture?") continue;
          matched = true;
          found = std::any_of(objs.begin(), objs.end(), [&](const ObjectInfo& o) { return o.cls == cls; });
          ++class_only[q.answer];
        }
        EXPECT_TRUE(matched) << t;
        EXPECT_EQ(q.answer, found ? "yes" : "no") << t;
      } else if (q.kind == "colour") {
        int hits = 0;
        for (const ObjectInfo& o : objs)
          if (t == "What colour is the " + class_noun(o.cls) + "?") {
            ++hits;
            EXPECT_EQ(q.answer, colour_name(o.colour)) << t;
          }
        EXPECT_EQ(hits, 1) << t;
      } else if (q.kind == "shape") {
        int hits = 0;
        for (const ObjectInfo& o : objs)
          if (t.find(" " + colour_name(o.colour) + " object?") != std::string::npos) {
            ++hits;
            EXPECT_EQ(q.answer, class_noun(o.cls)) << t;
          }
        EXPECT_EQ(hits, 1) << t;
      } else if (q.kind == "position") {
        EXPECT_TRUE(q.answer == "yes" || q.answer == "no");
      }
    }
  }
  for (const char* k : {"count", "exist", "colour", "shape", "position"}) EXPECT_GT(kinds[k], 10) << k;
  // "Is there a ring in the picture?": as many yes as no.
  EXPECT_GT(class_only["yes"], 100);
  EXPECT_EQ(class_only["yes"], class_only["no"]);
}

// More position questions per image: the default's questions come first, unchanged; each extra
// one is about a pair not asked before, its answer true to the centroids as a reader finds them.
TEST(Scenes, MorePositionQuestionsAppendTrueAnswersAndKeepTheDefaultOnes) {
  std::map<std::string, int> answers;
  int extra = 0, most = 0;
  for (int i = 0; i < 150; ++i) {
    SceneOptions more = opts();
    more.position_questions = 4;
    std::size_t defaults = 0;
    const GeneratedScene m = with_more_questions(more, i, &defaults);
    int positions = 0;
    std::set<std::pair<int, int>> asked;
    for (std::size_t k = 0; k < m.questions.size(); ++k) {
      const QaPair& q = m.questions[k];
      if (q.kind != "position") continue;
      ++positions;
      ++answers[q.answer];
      if (k >= defaults) ++extra;
      // "Is the red star to the left of the ring?"
      const std::string& t = q.question;
      ASSERT_EQ(t.rfind("Is ", 0), 0u) << t;
      ASSERT_EQ(t.back(), '?') << t;
      const std::string body = t.substr(3, t.size() - 4);
      std::string rel;
      std::size_t at = std::string::npos;
      for (const char* r : {" to the left of ", " to the right of ", " above ", " below "})
        if ((at = body.find(r)) != std::string::npos) {
          rel = r;
          break;
        }
      ASSERT_FALSE(rel.empty()) << t;
      const int a = resolve(body.substr(0, at), m.objects, m.scene.px);
      const int b = resolve(body.substr(at + rel.size()), m.objects, m.scene.px);
      ASSERT_GE(a, 0) << t;
      ASSERT_GE(b, 0) << t;
      EXPECT_TRUE(asked.insert({std::min(a, b), std::max(a, b)}).second) << "pair asked twice: " << t;
      auto info = [&](int object) {
        return *std::find_if(m.objects.begin(), m.objects.end(),
                             [&](const ObjectInfo& o) { return o.object == object; });
      };
      const ObjectInfo p = info(a), o = info(b);
      bool truth = false;
      if (rel == " to the left of ") truth = p.cx < o.cx;
      if (rel == " to the right of ") truth = p.cx > o.cx;
      if (rel == " above ") truth = p.cy < o.cy;
      if (rel == " below ") truth = p.cy > o.cy;
      EXPECT_EQ(q.answer, truth ? "yes" : "no") << t;
    }
    EXPECT_LE(positions, 4);
    most = std::max(most, positions);
  }
  EXPECT_GT(extra, 100);
  EXPECT_EQ(most, 4);
  // Yes and no about as often.
  EXPECT_GT(answers["yes"], answers["no"] * 3 / 4);
  EXPECT_GT(answers["no"], answers["yes"] * 3 / 4);
}

// "Where is the red star?": appended after the default's questions, about objects a reader can
// resolve, answered with the ninth of the image their centroid is in, never near a third's line.
TEST(Scenes, WhereQuestionsNameTheNinthOfTheImageTheObjectIsIn) {
  std::map<std::string, int> answers;
  int asked = 0, most = 0;
  for (int i = 0; i < 150; ++i) {
    SceneOptions more = opts();
    more.where_questions = 3;
    std::size_t defaults = 0;
    const GeneratedScene m = with_more_questions(more, i, &defaults);
    int here = 0;
    for (std::size_t k = defaults; k < m.questions.size(); ++k) {
      const QaPair& q = m.questions[k];
      ASSERT_EQ(q.kind, "where") << q.question;
      const std::string& t = q.question;
      ASSERT_EQ(t.rfind("Where is ", 0), 0u) << t;
      const int id = resolve(t.substr(9, t.size() - 10), m.objects, m.scene.px);
      ASSERT_GE(id, 0) << t;
      const ObjectInfo o =
          *std::find_if(m.objects.begin(), m.objects.end(), [&](const ObjectInfo& x) { return x.object == id; });
      // The answer by hand: columns left / middle / right, rows top / middle / bottom.
      const float third = m.scene.px / 3.0f;
      const int col = static_cast<int>(o.cx / third), row = static_cast<int>(o.cy / third);
      const char* const rows[3] = {"top", "", "bottom"};
      const char* const cols[3] = {"left", "", "right"};
      std::string expect = std::string(rows[std::min(row, 2)]);
      if (*cols[std::min(col, 2)]) expect += (expect.empty() ? "" : " ") + std::string(cols[std::min(col, 2)]);
      if (expect.empty()) expect = "middle";
      EXPECT_EQ(q.answer, expect) << t;
      for (float v : {o.cx, o.cy})
        for (float line : {third, 2 * third}) EXPECT_GE(std::abs(v - line), 0.04f * m.scene.px) << t;
      ++answers[q.answer], ++here, ++asked;
    }
    EXPECT_LE(here, 3);
    most = std::max(most, here);
  }
  EXPECT_GT(asked, 150);
  EXPECT_EQ(most, 3);
  EXPECT_EQ(answers.size(), 9u);  // every ninth comes up
}

TEST(Scenes, ReferringExpressionsPickOutExactlyTheirTarget) {
  int sentences = 0;
  for (int i = 0; i < 200; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    for (const ReferringExpression& r : g.refs)
      for (const std::string& s : r.sentences) {
        EXPECT_EQ(resolve(s, g.objects, g.scene.px), r.object) << "scene " << i << ": " << s;
        ++sentences;
      }
  }
  EXPECT_GT(sentences, 500);
}

TEST(Scenes, RemoveRevealsBackgroundAndChangesNothingElse) {
  int checked = 0;
  for (int i = 0; i < 60; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    const RenderedScene r = render_scene(g.scene);
    ASSERT_EQ(r.image.rgb, g.image.rgb);
    const int n = g.scene.px * g.scene.px;
    for (const SceneEdit& e : g.edits) {
      if (e.kind != "remove") continue;
      ++checked;
      const auto& a = r.alpha[e.target];
      ASSERT_EQ(e.edited.objects.size() + 1, g.scene.objects.size());
      int revealed = 0;
      for (int p = 0; p < n; ++p) {
        bool others = false;
        for (std::size_t k = 0; k < r.alpha.size(); ++k)
          others = others || (static_cast<int>(k) != e.target && r.alpha[k][p]);
        for (int c = 0; c < 3; ++c) {
          if (a[p] == 0) {
            ASSERT_EQ(e.image.rgb[3 * p + c], g.image.rgb[3 * p + c]) << e.instruction;
          }
          if (!others && a[p]) {
            ASSERT_EQ(e.image.rgb[3 * p + c], r.background.rgb[3 * p + c]) << e.instruction;
          }
        }
        revealed += !others && a[p] && g.objects[e.target].mask[p];
      }
      EXPECT_GT(revealed, 0) << e.instruction;
    }
  }
  EXPECT_GT(checked, 40);
}

TEST(Scenes, OtherEditsChangeTheImageAsDescribed) {
  std::map<std::string, int> kinds;
  for (int i = 0; i < 60; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    for (const SceneEdit& e : g.edits) {
      ++kinds[e.kind];
      EXPECT_NE(e.image.rgb, g.image.rgb) << e.instruction;
      EXPECT_EQ(render_scene(e.edited).image.rgb, e.image.rgb) << "edit target not re-rendered exactly";
      if (e.kind == "recolour") {
        EXPECT_NE(e.edited.objects[e.target].colour, g.scene.objects[e.target].colour);
        EXPECT_NE(e.instruction.find(colour_name(e.edited.objects[e.target].colour)), std::string::npos)
            << e.instruction;
      }
      if (e.kind == "add") {
        EXPECT_EQ(e.edited.objects.size(), g.scene.objects.size() + 1);
      }
      if (e.kind == "move") {
        const auto &a = g.scene.objects[e.target], &b = e.edited.objects[e.target];
        EXPECT_NEAR(std::hypot(a.cx - b.cx, a.cy - b.cy), 0.25 * g.scene.px, 1e-3);
      }
    }
  }
  for (const char* k : {"recolour", "remove", "add", "move"}) EXPECT_GT(kinds[k], 20) << k;
}

TEST(Scenes, CaptionsAreSentencesThatNameEveryGroup) {
  for (int i = 0; i < 100; ++i) {
    GeneratedScene g = generate_scene(opts(), i);
    ASSERT_EQ(g.captions.size(), 3u);
    for (const std::string& c : g.captions) {
      EXPECT_TRUE(std::isupper(static_cast<unsigned char>(c[0]))) << c;
      EXPECT_EQ(c.back(), '.') << c;
      EXPECT_EQ(c.find("  "), std::string::npos) << c;
      EXPECT_EQ(c.find(" a a"), std::string::npos) << c;
      for (const ObjectInfo& o : g.objects) EXPECT_NE(c.find(colour_name(o.colour)), std::string::npos) << c;
    }
    std::set<std::string> distinct(g.captions.begin(), g.captions.end());
    EXPECT_EQ(distinct.size(), 3u);
  }
}

TEST(Scenes, BadOptionsAreErrors) {
  EXPECT_THROW(parse_split("training"), setok::Error);
  SceneOptions o;
  o.px = 8;
  EXPECT_THROW(generate_scene(o, 0), setok::Error);
}
