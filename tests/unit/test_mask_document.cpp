// The Segment tool's masks: every change one undo step that restores the masks bit for bit, the
// round brush, the query that refines a mask, and the PNG and COCO RLE exports read back through
// the existing decoders.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/data/coco_rle.h"
#include "core/edit/mask_brush.h"
#include "core/edit/mask_document.h"
#include "core/edit/mask_export.h"
#include "core/edit/mask_prompt.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_export.h"
#include "tests/support/temp_dir.h"

using namespace setok::edit;
using setok::Error;

namespace {

constexpr int kW = 37, kH = 23;  // odd sizes: row-major and column-major orders differ everywhere
constexpr double kPi = 3.14159265358979;

std::vector<std::uint8_t> random_mask(std::mt19937& rng, double p) {
  std::bernoulli_distribution on(p);
  std::vector<std::uint8_t> m(static_cast<std::size_t>(kW) * kH);
  for (auto& v : m) v = on(rng);
  return m;
}

std::vector<std::uint8_t> rect_mask(int x0, int y0, int x1, int y1) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(kW) * kH, 0);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m[static_cast<std::size_t>(y) * kW + x] = 1;
  return m;
}

MaskPrompt clicked_prompt(float x, float y, int side) {
  MaskPrompt p;
  p.clicks.push_back({x, y, true});
  p.low_res.assign(static_cast<std::size_t>(side) * side, 0.25f);
  p.low_res_side = side;
  return p;
}

// Everything a user could tell apart: names, ids, pixels, prompts, the selection.
struct Snapshot {
  std::vector<std::uint32_t> ids;
  std::vector<std::string> names;
  std::vector<std::vector<std::uint8_t>> bits;
  std::vector<std::size_t> clicks;
  std::vector<std::vector<float>> low_res;
  int current = -1;
  bool operator==(const Snapshot& o) const {
    return ids == o.ids && names == o.names && bits == o.bits && clicks == o.clicks && low_res == o.low_res &&
           current == o.current;
  }
};

Snapshot snapshot(const MaskDocument& d) {
  Snapshot s;
  for (const auto& m : d.masks()) {
    s.ids.push_back(m.id);
    s.names.push_back(m.name);
    s.bits.push_back(m.bits);
    s.clicks.push_back(m.prompt.clicks.size());
    s.low_res.push_back(m.prompt.low_res);
  }
  s.current = d.current();
  return s;
}

}  // namespace

TEST(MaskDocument, MasksAreAddedRenamedDeletedAndSelected) {
  MaskDocument d;
  d.reset(kW, kH);
  EXPECT_EQ(d.count(), 0);
  EXPECT_EQ(d.current(), -1);
  EXPECT_EQ(d.add(), 0);
  EXPECT_EQ(d.add("cup"), 1);
  EXPECT_EQ(d.mask(0).name, "mask 1");
  EXPECT_EQ(d.mask(1).name, "cup");
  EXPECT_EQ(d.current(), 1) << "a new mask is selected";
  EXPECT_EQ(d.mask(1).bits.size(), static_cast<std::size_t>(kW) * kH);
  EXPECT_EQ(d.mask(1).area(), 0);
  d.rename(0, "table");
  EXPECT_EQ(d.mask(0).name, "table");
  EXPECT_THROW(d.rename(0, ""), Error);
  d.select(0);
  EXPECT_EQ(d.current(), 0);
  EXPECT_EQ(d.undo_label(), "Rename mask 1") << "selecting is not a step";
  d.remove(0);
  EXPECT_EQ(d.count(), 1);
  EXPECT_EQ(d.mask(0).name, "cup");
  EXPECT_EQ(d.current(), 0) << "the selection passes to the mask in the deleted one's place";
  EXPECT_EQ(d.index_of(2), 0);
  EXPECT_EQ(d.index_of(1), -1);
  EXPECT_THROW(d.mask(1), Error);
  EXPECT_THROW(d.remove(3), Error);
  EXPECT_THROW(d.select(1), Error);
  ASSERT_TRUE(d.undo());
  EXPECT_EQ(d.count(), 2);
  EXPECT_EQ(d.mask(0).name, "table") << "undo puts a deleted mask back in its place";
  EXPECT_EQ(d.current(), 0);
}

TEST(MaskDocument, UndoAndRedoRestoreEveryStepBitForBit) {
  std::mt19937 rng(42);
  MaskDocument d;
  d.reset(kW, kH);
  std::vector<Snapshot> states{snapshot(d)};
  d.add("a");
  states.push_back(snapshot(d));
  d.add("b");
  states.push_back(snapshot(d));
  for (int step = 0; step < 24; ++step) {
    const int i = step % 2;
    bool stepped = true;
    switch (step % 4) {
      case 0:
        d.set_mask(i, random_mask(rng, 0.4), clicked_prompt(3, 4, 8), "Click");
        break;
      case 1:
        stepped = d.stroke(i, {{1.5f, 2.5f}, {30.2f, 18.9f}}, 2.5f, false);
        break;
      case 2:
        stepped = d.stroke(i, {{20, 0}, {20, 23}}, 1.0f, true);
        break;
      default:
        d.rename(i, "n" + std::to_string(step));
        break;
    }
    if (stepped) states.push_back(snapshot(d));
  }
  d.remove(0);
  states.push_back(snapshot(d));
  for (std::size_t k = states.size() - 1; k > 0; --k) {
    ASSERT_TRUE(d.undo());
    ASSERT_TRUE(snapshot(d) == states[k - 1]) << "after undoing step " << k;
  }
  EXPECT_FALSE(d.undo());
  for (std::size_t k = 1; k < states.size(); ++k) {
    ASSERT_TRUE(d.redo());
    ASSERT_TRUE(snapshot(d) == states[k]) << "after redoing step " << k;
  }
  EXPECT_FALSE(d.redo());
}

TEST(MaskDocument, AStrokeIsOneStepAndDropsTheDecodersLogits) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add();
  d.set_mask(0, rect_mask(2, 2, 6, 6), clicked_prompt(4, 4, 4), "Click");
  const auto before = d.mask(0).bits;
  std::vector<Point> path;
  for (int k = 0; k <= 40; ++k) path.push_back({1.0f + 0.8f * k, 12.0f + 5.0f * std::sin(k * 0.3f)});
  ASSERT_TRUE(d.stroke(0, path, 3.0f, false));
  EXPECT_GT(d.mask(0).area(), 100);
  EXPECT_EQ(d.undo_label(), "Brush");
  EXPECT_TRUE(d.mask(0).prompt.low_res.empty()) << "the logits no longer describe the brushed mask";
  EXPECT_EQ(d.mask(0).prompt.clicks.size(), 1u) << "the clicks stay";
  ASSERT_TRUE(d.undo());
  EXPECT_EQ(d.mask(0).bits, before) << "one undo takes back the whole stroke";
  EXPECT_EQ(d.mask(0).prompt.low_res_side, 4);
  EXPECT_EQ(d.undo_label(), "Click");
  ASSERT_TRUE(d.redo());
  ASSERT_TRUE(d.stroke(0, {{4, 4}}, 1.5f, true));
  EXPECT_EQ(d.undo_label(), "Eraser");
  EXPECT_EQ(d.mask(0).bits[4 * kW + 4], 0);
  EXPECT_FALSE(d.stroke(0, {{4, 4}}, 1.5f, true)) << "a stroke that changes nothing is no step";
  EXPECT_EQ(d.undo_label(), "Eraser");
}

TEST(MaskDocument, AMaskThatArrivesWithItsPixelsIsOneStep) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add();
  const auto answer = rect_mask(2, 3, 12, 9);
  MaskPrompt p;
  p.expression = "the red square";
  EXPECT_EQ(d.add("the red square", answer, p, "Segment"), 1);
  EXPECT_EQ(d.mask(1).bits, answer);
  EXPECT_EQ(d.mask(1).prompt.expression, "the red square");
  EXPECT_EQ(d.current(), 1);
  EXPECT_EQ(d.undo_label(), "Segment");
  ASSERT_TRUE(d.undo());
  EXPECT_EQ(d.count(), 1) << "one undo takes the whole answer back";
  EXPECT_EQ(d.current(), 0);
  ASSERT_TRUE(d.redo());
  EXPECT_EQ(d.mask(1).bits, answer);
  EXPECT_THROW(d.add("x", std::vector<std::uint8_t>(3, 1), {}, "Segment"), Error);
  EXPECT_EQ(d.count(), 2);
}

TEST(MaskDocument, ANewEditAfterUndoDropsWhatCouldBeRedone) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add();
  d.set_mask(0, rect_mask(0, 0, 3, 3), {}, "Start from token");
  ASSERT_TRUE(d.undo());
  EXPECT_TRUE(d.can_redo());
  EXPECT_EQ(d.redo_label(), "Start from token");
  d.stroke(0, {{10, 10}}, 2, false);
  EXPECT_FALSE(d.can_redo());
}

TEST(MaskDocument, TheHistoryKeepsItsLimitAndAResetEmptiesIt) {
  MaskDocument d(3);
  d.reset(kW, kH);
  d.add();
  for (int k = 0; k < 5; ++k) d.stroke(0, {{2.0f + 4 * k, 5}}, 1.5f, false);
  int undone = 0;
  while (d.undo()) ++undone;
  EXPECT_EQ(undone, 3);
  EXPECT_EQ(d.count(), 1) << "the oldest steps (the add among them) are gone";
  d.reset(5, 4);
  EXPECT_EQ(d.count(), 0);
  EXPECT_FALSE(d.can_undo());
  EXPECT_FALSE(d.can_redo());
  EXPECT_EQ(d.add(), 0);
  EXPECT_EQ(d.mask(0).name, "mask 1") << "names count from one again on a new image";
}

TEST(MaskDocument, AMaskOfTheWrongSizeIsRefusedAndChangesNothing) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add();
  const auto rev = d.revision();
  EXPECT_THROW(d.set_mask(0, std::vector<std::uint8_t>(5, 1), {}, "Click"), Error);
  EXPECT_THROW(d.set_mask(1, rect_mask(0, 0, 1, 1), {}, "Click"), Error);
  EXPECT_EQ(d.revision(), rev);
  EXPECT_EQ(d.undo_label(), "Add mask 1");
  d.set_mask(0, std::vector<std::uint8_t>(static_cast<std::size_t>(kW) * kH, 255), {}, "Click");
  EXPECT_EQ(d.mask(0).bits[0], 1) << "nonzero is inside, kept as 1";
}

TEST(MaskBrush, ARoundBrushPaintsADiscAndACapsule) {
  std::vector<std::uint8_t> m(100 * 100, 0);
  const auto n = paint_stroke(m, 100, 100, {{50, 50}}, 10, 1);
  EXPECT_NEAR(static_cast<double>(n), kPi * 100, 0.05 * kPi * 100);
  EXPECT_EQ(m[50 * 100 + 59], 1);
  EXPECT_EQ(m[50 * 100 + 61], 0);
  EXPECT_EQ(m[40 * 100 + 40], 0) << "round, not square";
  std::vector<std::uint8_t> line(100 * 100, 0);
  paint_stroke(line, 100, 100, {{10, 50}, {90, 50}}, 3, 1);
  for (int x = 10; x < 90; ++x) EXPECT_EQ(line[50 * 100 + x], 1) << x;
  EXPECT_EQ(line[54 * 100 + 50], 0);
  EXPECT_EQ(paint_stroke(line, 100, 100, {{-50, -50}}, 3, 1), 0) << "off the image: nothing, no crash";
  std::vector<std::uint8_t> thin(9, 0);
  EXPECT_EQ(paint_stroke(thin, 3, 3, {{1.9f, 1.1f}}, 0.1f, 1), 1) << "a thin brush paints the pixel under it";
  EXPECT_EQ(thin[4], 1);
  EXPECT_THROW(paint_stroke(thin, 4, 3, {{0, 0}}, 1, 1), Error);
}

TEST(MaskPrompt, TheRefiningQueryPassesTheLogitsElseTheMaskItself) {
  const auto bits = rect_mask(1, 1, 4, 4);
  MaskPrompt p = clicked_prompt(2, 3, 4);
  p.expression = "the cup";
  p.box = setok::heads::Box{1, 1, 5, 5};
  auto q = refine_query(p, bits);
  EXPECT_EQ(q.previous.size(), 16u);
  EXPECT_TRUE(q.start_mask.empty());
  EXPECT_TRUE(q.expression.empty()) << "a click is a decoder-only query";
  ASSERT_EQ(q.clicks.size(), 1u);
  EXPECT_FLOAT_EQ(q.clicks[0].y, 3);
  EXPECT_TRUE(q.box.has_value());
  p.low_res.clear();
  q = refine_query(p, bits);
  EXPECT_TRUE(q.previous.empty());
  EXPECT_EQ(q.start_mask, bits) << "a brushed or token mask is the decoder's starting mask";
  q = refine_query(p, std::vector<std::uint8_t>(bits.size(), 0));
  EXPECT_TRUE(q.start_mask.empty()) << "an empty mask says nothing";
}

TEST(MaskExport, TheIndexMapNumbersMasksInListOrderTheLaterOnTop) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add("a");
  d.add("b");
  d.set_mask(0, rect_mask(0, 0, 10, 10), {}, "Click");
  d.set_mask(1, rect_mask(5, 5, 20, 20), {}, "Click");
  const auto map = mask_index_map(d);
  EXPECT_EQ(map[0], 1);
  EXPECT_EQ(map[7 * kW + 7], 2) << "the overlap goes to the later mask";
  EXPECT_EQ(map[19 * kW + 19], 2);
  EXPECT_EQ(map[22 * kW + 36], 0);
  if (!setok::io::image_io_available()) GTEST_SKIP() << "built without image support";
  setok::test::TempDir t;
  save_mask_index_png(t / "masks.png", d);
  const auto img = setok::io::load_image(t / "masks.png");
  ASSERT_EQ(img.width, kW);
  ASSERT_EQ(img.height, kH);
  for (std::size_t p = 0; p < map.size(); ++p) ASSERT_EQ(img.rgb[3 * p], map[p]) << p;
}

TEST(MaskExport, CocoRleRoundTripsThroughTheExistingDecoder) {
  std::mt19937 rng(7);
  MaskDocument d;
  d.reset(kW, kH);
  d.add("dog");
  d.add("empty");
  d.add("dog");
  d.set_mask(0, random_mask(rng, 0.3), {}, "Click");
  d.set_mask(2, rect_mask(3, 4, 9, 20), {}, "Click");
  setok::test::TempDir t;
  save_masks_coco_json(t / "masks.json", d, "photo.png");
  std::ifstream f(t / "masks.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["images"][0]["file_name"], "photo.png");
  EXPECT_EQ(j["images"][0]["width"], kW);
  ASSERT_EQ(j["annotations"].size(), 2u) << "the empty mask is left out";
  ASSERT_EQ(j["categories"].size(), 1u) << "one category per name";
  EXPECT_EQ(j["categories"][0]["name"], "dog");
  for (const auto& a : j["annotations"]) {
    const NamedMask& m = d.mask(a["index"].get<int>() - 1);
    const auto rle = setok::tokenizer::rle_from_json(a["segmentation"]);
    EXPECT_EQ(setok::data::rle_decode(rle), m.bits);
    EXPECT_EQ(a["area"], m.area());
    EXPECT_EQ(a["category_id"], 1);
    EXPECT_EQ(a["iscrowd"], 0);
  }
  EXPECT_EQ(j["annotations"][1]["bbox"], nlohmann::json({3, 4, 6, 16}));
}

TEST(MaskExport, NothingToExportIsAOneLineError) {
  MaskDocument d;
  d.reset(kW, kH);
  d.add();
  setok::test::TempDir t;
  try {
    save_masks_coco_json(t / "m.json", d, "x.png");
    FAIL() << "an empty mask exported";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "there are no masks to export yet");
  }
  EXPECT_THROW(save_mask_index_png(t / "m.png", d), Error);
}
