// `setok segment` as users and scripts meet it: its three forms write 0/255 masks at the image's own
// size with the JSON they promise, and every bad input is one line, exit 1, with nothing written.
// The refusals are checked before the model loads, so they run without a mask decoder; the forms
// that segment skip until the bundled SeTokim has one.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/heads/segmenter.h"
#include "core/io/image.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/run_process.h"
#include "tests/support/setok_cli.h"
#include "tests/support/temp_dir.h"

using namespace setok::test;
namespace fs = std::filesystem;

namespace {

const std::string kCoffee = std::string(SETOK_SAMPLES) + "/coffee.png";    // 600 x 400
const std::string kChelsea = std::string(SETOK_SAMPLES) + "/chelsea.png";  // 451 x 300

std::string q(const std::string& s) { return shell_quote(s); }

bool bundled_decoder() {
  const std::string model = setok::tokenizer::default_setokim_model();
  return !model.empty() && setok::heads::Segmenter::has_decoder(model);
}

#define SKIP_WITHOUT_DECODER() \
  if (!bundled_decoder()) GTEST_SKIP() << "the bundled SeTokim has no mask decoder (mask_decoder.json) yet"

// One line naming `words`, exit 1, and `unwritten` (a mask, an overlay, an --out folder) not there.
void expect_refused(const ProcessResult& r, const std::string& words, const std::string& unwritten) {
  expect_one_line_error(r);
  EXPECT_NE(r.err.find(words), std::string::npos) << "expected '" << words << "' in: " << r.err;
  EXPECT_FALSE(fs::exists(unwritten)) << unwritten << " was written for: " << r.err;
}

// The mask is one 8-bit channel at width x height holding only 0 and 255; returns the pixels set.
long long expect_binary_mask(const std::string& path, int width, int height) {
  const cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  EXPECT_FALSE(m.empty()) << path;
  if (m.empty()) return -1;
  EXPECT_EQ(m.type(), CV_8UC1) << path;
  EXPECT_EQ(m.cols, width) << path;
  EXPECT_EQ(m.rows, height) << path;
  const long long set = cv::countNonZero(m == 255), unset = cv::countNonZero(m == 0);
  EXPECT_EQ(set + unset, static_cast<long long>(width) * height) << path << ": values other than 0 and 255";
  return set;
}

void expect_mask_fields(const nlohmann::json& j) {
  for (const char* k : {"area", "bbox", "predicted_iou"}) EXPECT_TRUE(j.contains(k)) << k << " in " << j.dump();
  EXPECT_EQ(j["bbox"].size(), 4u);
}

}  // namespace

TEST(CliSegment, AnExpressionWritesItsMaskOverlayAndJson) {
  SKIP_WITHOUT_DECODER();
  TempDir d;
  auto r = setok_cli("segment " + q(kCoffee) + " 'the cup' --mask " + q(d / "m.png") + " --overlay " + q(d / "o.png") +
                     " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"image", "width", "height", "expression", "clicks", "box", "candidates", "best",
                        "referred_tokens", "ms", "mask", "overlay"})
    EXPECT_TRUE(j.contains(k)) << k;
  expect_mask_fields(j);
  for (const char* k : {"encode", "language", "decode", "total", "load_model"}) EXPECT_TRUE(j["ms"].contains(k)) << k;
  EXPECT_EQ(j["width"], 600);
  EXPECT_EQ(j["height"], 400);
  EXPECT_EQ(j["expression"], "the cup");
  EXPECT_TRUE(j["box"].is_null());
  ASSERT_FALSE(j["candidates"].empty());
  for (const auto& c : j["candidates"]) expect_mask_fields(c);
  const int best = j["best"];
  ASSERT_GE(best, 0);
  ASSERT_LT(best, static_cast<int>(j["candidates"].size()));
  EXPECT_EQ(j["area"], j["candidates"][best]["area"]);
  EXPECT_EQ(expect_binary_mask(d / "m.png", 600, 400), j["area"].get<long long>()) << "the JSON's area is the mask's";
  const setok::io::Image overlay = setok::io::load_image(d / "o.png");
  EXPECT_EQ(overlay.width, 600);
  EXPECT_EQ(overlay.height, 400);
}

TEST(CliSegment, ClicksAndABoxNeedNoExpression) {
  SKIP_WITHOUT_DECODER();
  TempDir d;
  auto r = setok_cli("segment " + q(kCoffee) + " --point 290,150 --point 120,250,neg --box 170,15,410,290 --mask " +
                     q(d / "m.png") + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["expression"].is_null());
  ASSERT_EQ(j["clicks"].size(), 2u);
  EXPECT_EQ(j["clicks"][0]["x"], 290);
  EXPECT_EQ(j["clicks"][0]["positive"], true);
  EXPECT_EQ(j["clicks"][1]["positive"], false);
  EXPECT_EQ(j["box"], nlohmann::json({170, 15, 410, 290}));
  EXPECT_TRUE(j["overlay"].is_null());
  expect_mask_fields(j);
  EXPECT_EQ(expect_binary_mask(d / "m.png", 600, 400), j["area"].get<long long>());
  // Without --json: a readable summary, and the mask written all the same.
  auto text = setok_cli("segment " + q(kCoffee) + " --point 365,285,pos --mask " + q(d / "spoon.png"));
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("predicted IoU"), std::string::npos) << text.out;
  expect_binary_mask(d / "spoon.png", 600, 400);
}

// A lone click starts from the SeTok token under it (the single mask is shown); --click-alone asks
// the click by itself, answered by the best of the three alternatives.
TEST(CliSegment, ALoneClickStartsFromTheTokenUnderItUnlessAskedAlone) {
  SKIP_WITHOUT_DECODER();
  TempDir d;
  auto token = setok_cli("segment " + q(kCoffee) + " --point 290,150 --mask " + q(d / "t.png") + " --json");
  ASSERT_EQ(token.rc, 0) << token.err;
  auto alone =
      setok_cli("segment " + q(kCoffee) + " --point 290,150 --click-alone --mask " + q(d / "a.png") + " --json");
  ASSERT_EQ(alone.rc, 0) << alone.err;
  const auto t = nlohmann::json::parse(token.out), a = nlohmann::json::parse(alone.out);
  EXPECT_EQ(t["best"], 0);
  EXPECT_GE(a["best"].get<int>(), 1);
  EXPECT_EQ(expect_binary_mask(d / "t.png", 600, 400), t["area"].get<long long>());
  EXPECT_EQ(expect_binary_mask(d / "a.png", 600, 400), a["area"].get<long long>());
}

// `setok train segment` from the shipped recipe on a tiny world: a decoder beside a copy of the
// SeTokim, marked trained, that `setok segment` loads and answers with (clicks from their tokens too).
TEST(CliSegment, TrainSegmentWritesADecoderThatSegments) {
  TempDir d;
  auto g = setok_cli("data scenes --out " + q(d / "w") + " --count 6 --split train --size 128 --no-edits");
  ASSERT_EQ(g.rc, 0) << g.err;
  const std::string config = (fs::path(SETOK_MODELS).parent_path() / "configs/setokim-small/09-segment.json").string();
  auto r = setok_cli("train segment --config " + q(config) + " --data " + q(d / "w") + " --out " + q(d / "run") +
                     " --steps 3 --progress jsonl --set setokim=" + q(std::string(SETOK_MODELS) + "/setokim-small") +
                     " --set max_images=6 --set val_split=train --set val_images=2 --set batch_size=4" +
                     " --set eval_every=3 --set click_token_rate=0.5 --set zoom_crops=1");
  ASSERT_EQ(r.rc, 0) << r.err;
  // The six images and a zoomed crop of each (fewer where an object nearly fills its image); the
  // validation images stay whole.
  std::vector<std::int64_t> totals;  // of each "prepare" line: the training set's, then validation's
  std::istringstream lines(r.out + r.err);
  for (std::string line; std::getline(lines, line);)
    if (line.find("\"prepare\"") != std::string::npos)
      totals.push_back(nlohmann::json::parse(line)["total"].get<std::int64_t>());
  ASSERT_FALSE(totals.empty());
  const std::int64_t train_total = totals.front(), val_total = totals.back();
  EXPECT_GT(train_total, 6);
  EXPECT_LE(train_total, 12);
  EXPECT_EQ(val_total, 2);
  ASSERT_TRUE(setok::heads::Segmenter::has_decoder(d / "run"));
  const auto dec = nlohmann::json::parse(read_bytes(d / "run/mask_decoder.json"));
  EXPECT_EQ(dec["trained"], true);
  const std::string image = d / "w/images/train_0000000.png";
  auto s =
      setok_cli("segment " + q(image) + " --point 64,64 -m " + q(d / "run") + " --mask " + q(d / "m.png") + " --json");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(expect_binary_mask(d / "m.png", 128, 128), nlohmann::json::parse(s.out)["area"].get<long long>());
}

// The same on two data-parallel ranks (`setok launch`): rank 0 writes the one decoder.
TEST(CliSegment, TrainSegmentOnTwoRanks) {
  TempDir d;
  auto g = setok_cli("data scenes --out " + q(d / "w") + " --count 4 --split train --size 128 --no-edits");
  ASSERT_EQ(g.rc, 0) << g.err;
  const std::string config = (fs::path(SETOK_MODELS).parent_path() / "configs/setokim-small/09-segment.json").string();
  auto r = setok_cli("launch --nproc 2 -- " + q(SETOK_CLI) + " train segment --config " + q(config) + " --data " +
                     q(d / "w") + " --out " + q(d / "run") +
                     " --steps 3 --progress jsonl --set setokim=" + q(std::string(SETOK_MODELS) + "/setokim-small") +
                     " --set max_images=4 --set val_split=train --set val_images=1 --set batch_size=2 --set "
                     "eval_every=3 --set log_every=1");
  ASSERT_EQ(r.rc, 0) << r.err;
  int steps = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.find("\"event\":\"step\"") != std::string::npos) ++steps;
  EXPECT_EQ(steps, 3) << "rank 0 alone reports";
  ASSERT_TRUE(setok::heads::Segmenter::has_decoder(d / "run"));
  EXPECT_EQ(nlohmann::json::parse(read_bytes(d / "run/mask_decoder.json"))["trained"], true);
}

// Ours name an image under the folder ("images/scene.png"); refer's real RefCOCO refs name it
// "COCO_train2014_<id>_<n>.jpg" for the file COCO_train2014_<id>.jpg, differently in each ref.
TEST(CliSegment, ARefsFileGivesAMaskPerSentence) {
  SKIP_WITHOUT_DECODER();
  TempDir d;
  fs::create_directories(d / "data/images");
  fs::copy_file(kChelsea, d / "data/images/scene.png");
  fs::copy_file(kCoffee, d / "data/COCO_train2014_000000000042.png");
  write_bytes(d / "refs.json", R"([
    {"ref_id": 1, "ann_id": 1, "image_id": 1, "file_name": "images/scene.png", "split": "test",
     "sentences": [{"sent": "the cat", "sent_id": 10}, {"sent": "the cat on the left", "sent_id": 11}]},
    {"ref_id": 2, "ann_id": 2, "image_id": 42, "file_name": "COCO_train2014_000000000042_7.png",
     "sentences": [{"sent": "the cup", "sent_id": 20}]},
    {"ref_id": 3, "ann_id": 3, "image_id": 42, "file_name": "COCO_train2014_000000000042_8.png",
     "sentences": [{"sent": "the saucer", "sent_id": 21}]}])");
  auto r = setok_cli("segment --refs " + q(d / "refs.json") + " --images " + q(d / "data") + " --out " +
                     q(d / "masks") + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 4);
  EXPECT_EQ(j["images"], 2) << "each image encoded once, whatever the refs call it";
  EXPECT_EQ(j["failed"], 0);
  EXPECT_TRUE(j["failures"].empty());
  EXPECT_GT(j["ms_per_sentence"].get<double>(), 0);
  ASSERT_EQ(j["sentences"].size(), 4u);
  for (const auto& s : j["sentences"]) {
    expect_mask_fields(s);
    const bool cat = s["sent_id"] < 20;
    EXPECT_EQ(expect_binary_mask(d / ("masks/" + std::to_string(s["sent_id"].get<int>()) + ".png"), cat ? 451 : 600,
                                 cat ? 300 : 400),
              s["area"].get<long long>());
  }
  EXPECT_NE(r.err.find("segment: 4/4 sentences"), std::string::npos) << r.err;
  auto limited = setok_cli("segment --refs " + q(d / "refs.json") + " --images " + q(d / "data") + " --out " +
                           q(d / "first") + " --limit 2 --json");
  ASSERT_EQ(limited.rc, 0) << limited.err;
  EXPECT_EQ(nlohmann::json::parse(limited.out)["count"], 2);
  EXPECT_TRUE(fs::exists(d / "first/11.png"));
  EXPECT_FALSE(fs::exists(d / "first/20.png"));
}

TEST(CliSegment, RefusesImagesItCannotRead) {
  TempDir d;
  const std::string mask = d / "m.png";
  expect_refused(setok_cli("segment " + q(d / "nowhere.png") + " 'the cup' --mask " + q(mask)), "nowhere.png", mask);
  write_bytes(d / "bad.png", "not an image");
  expect_refused(setok_cli("segment " + q(d / "bad.png") + " 'the cup' --mask " + q(mask)), "bad.png", mask);
}

TEST(CliSegment, RefusesAnEmptyExpressionOrNothingToSegment) {
  TempDir d;
  const std::string mask = d / "m.png";
  expect_refused(setok_cli("segment " + q(kCoffee) + " '' --mask " + q(mask)), "empty", mask);
  expect_refused(setok_cli("segment " + q(kCoffee) + " '   ' --mask " + q(mask)), "empty", mask);
  expect_refused(setok_cli("segment " + q(kCoffee) + " --mask " + q(mask)), "nothing to segment", mask);
}

TEST(CliSegment, RefusesClicksAndBoxesOutsideTheImage) {
  TempDir d;
  const std::string mask = d / "m.png";
  auto far = setok_cli("segment " + q(kCoffee) + " --point 10,10 --point 700,10 --mask " + q(mask));
  expect_refused(far, "--point 700,10", mask);
  EXPECT_NE(far.err.find("600x400"), std::string::npos) << far.err;
  expect_refused(setok_cli("segment " + q(kCoffee) + " --point -1,5 --mask " + q(mask)), "600x400", mask);
  auto box = setok_cli("segment " + q(kCoffee) + " --box 10,10,700,300 --mask " + q(mask));
  expect_refused(box, "--box 10,10,700,300", mask);
  EXPECT_NE(box.err.find("600x400"), std::string::npos) << box.err;
}

TEST(CliSegment, RefusesMalformedClicksAndBoxes) {
  TempDir d;
  const std::string mask = d / "m.png";
  for (const char* point : {"12", "a,b", "1,2,maybe", "1,2,3,4", "1,,neg", "nan,3"})
    expect_refused(setok_cli("segment " + q(kCoffee) + " --point " + q(point) + " --mask " + q(mask)),
                   std::string("--point ") + point, mask);
  for (const char* box : {"1,2,3", "50,50,10,10", "1,2,3,x"})
    expect_refused(setok_cli("segment " + q(kCoffee) + " --box " + q(box) + " --mask " + q(mask)),
                   std::string("--box ") + box, mask);
}

TEST(CliSegment, TheSingleFormsNeedAMaskToWrite) {
  TempDir d;
  expect_one_line_error(setok_cli("segment " + q(kCoffee) + " 'the cup'"));
  auto clicks = setok_cli("segment " + q(kCoffee) + " --point 290,150 --overlay " + q(d / "o.png"));
  expect_refused(clicks, "--mask", d / "o.png");
  expect_refused(setok_cli("segment " + q(kCoffee) + " 'the cup' --mask " + q(d / "no/such/m.png")), "no/such",
                 d / "no");
  expect_refused(setok_cli("segment " + q(kCoffee) + " 'the cup' --mask " + q(d.path().string())), "folder",
                 d / "m.png");
}

TEST(CliSegment, RefusesRefsFilesThatAreNotRefCoco) {
  TempDir d;
  fs::create_directories(d / "data/images");
  fs::copy_file(kChelsea, d / "data/images/scene.png");
  const std::string out = d / "masks";
  const std::pair<const char*, const char*> junk[] = {
      {"object.json", "{}"},
      {"numbers.json", "[1, 2]"},
      {"text.json", "not json"},
      {"instances.json", R"({"images": [], "annotations": []})"},
      {"no_sentences.json", R"([{"ref_id": 1, "ann_id": 2, "image_id": 3, "file_name": "images/scene.png",
                                 "sentences": []}])"},
      {"empty.json", "[]"},
      {"twice.json", R"([{"ref_id": 1, "ann_id": 2, "image_id": 3, "file_name": "images/scene.png",
                          "sentences": [{"sent": "the cat", "sent_id": 5}, {"sent": "a cat", "sent_id": 5}]}])"},
      {"elsewhere.json", R"([{"ref_id": 1, "ann_id": 2, "image_id": 3, "file_name": "images/nope.png",
                              "sentences": [{"sent": "the cat", "sent_id": 5}]}])"}};
  for (const auto& [name, text] : junk) {
    write_bytes(d / name, text);
    auto r = setok_cli("segment --refs " + q(d / name) + " --images " + q(d / "data") + " --out " + q(out));
    expect_refused(r, name, out);
  }
  expect_refused(
      setok_cli("segment --refs " + q(d / "absent.json") + " --images " + q(d / "data") + " --out " + q(out)),
      "absent.json", out);
}

TEST(CliSegment, RefusesRefsArgumentsThatCannotWork) {
  TempDir d;
  fs::create_directories(d / "data/images");
  fs::copy_file(kChelsea, d / "data/images/scene.png");
  write_bytes(d / "refs.json", R"([{"ref_id": 1, "ann_id": 2, "image_id": 3, "file_name": "images/scene.png",
                                    "sentences": [{"sent": "the cat", "sent_id": 5}]}])");
  write_bytes(d / "file", "x");
  const std::string refs = " --refs " + q(d / "refs.json");
  expect_refused(setok_cli("segment" + refs + " --images " + q(d / "data") + " --out " + q(d / "file/masks")), "--out",
                 d / "file/masks");
  expect_refused(setok_cli("segment" + refs + " --images " + q(d / "data") + " --out " + q(d / "file")), "--out",
                 d / "file/5.png");
  expect_refused(setok_cli("segment" + refs + " --images " + q(d / "none") + " --out " + q(d / "m")), "--images",
                 d / "m");
  expect_refused(setok_cli("segment" + refs + " --out " + q(d / "m")), "--images", d / "m");
  expect_refused(setok_cli("segment " + q(kCoffee) + refs + " --images " + q(d / "data") + " --out " + q(d / "m")),
                 "--refs", d / "m");
  expect_refused(setok_cli("segment " + q(kCoffee) + " 'the cup' --mask " + q(d / "x.png") + " --out " + q(d / "m")),
                 "--refs", d / "x.png");
}

TEST(CliSegment, RefusesAModelWithoutAMaskDecoder) {
  TempDir d;
  const std::string mask = d / "m.png";
  expect_refused(setok_cli("segment " + q(kCoffee) + " 'the cup' -m " + q(d / "no-model") + " --mask " + q(mask)),
                 "no-model", mask);
  const std::string setok = std::string(SETOK_MODELS) + "/setok-small";
  expect_refused(setok_cli("segment " + q(kCoffee) + " 'the cup' -m " + q(setok) + " --mask " + q(mask)),
                 "mask decoder", mask);
}
