// The bundled SeTok still measures what its card says: CI regenerates the card's evaluation splits
// (the scenes world is deterministic per seed and index), evaluates the committed weights and
// compares every figure with resources/models/setok-small/metrics.json within its stated
// tolerance; the card (card.md) must print the same figures.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

using namespace setok::test;
namespace fs = std::filesystem;

namespace {
ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args, 900); }

std::string card_format(const std::string& key, double v) {
  char buf[32];
  if (key == "psnr_db") std::snprintf(buf, sizeof buf, "%.1f", v);
  else if (key == "tokens_per_image") std::snprintf(buf, sizeof buf, "%.2f", v);
  else std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}
}  // namespace

TEST(BundledModel, ReachesTheFiguresOfItsCard) {
  const fs::path model = fs::path(SETOK_MODELS) / "setok-small";
  ASSERT_TRUE(fs::exists(model / "config.json")) << "the bundled model is missing: " << model;
  ASSERT_TRUE(fs::exists(model / "metrics.json"));
  const nlohmann::json card = nlohmann::json::parse(read_bytes(model / "metrics.json"));
  const std::string card_md = read_bytes(model / "card.md");
  const auto& tol = card.at("tolerance");
  ASSERT_FALSE(card.at("splits").empty());
  TempDir dir;
  for (const auto& [split, spec] : card.at("splits").items()) {
    SCOPED_TRACE(split);
    auto g =
        setok_cli("data scenes --out " + shell_quote(dir / "data") + " " + spec.at("data_args").get<std::string>());
    ASSERT_EQ(g.rc, 0) << g.err;
    auto e = setok_cli("eval setok -m " + shell_quote(model) + " --data " + shell_quote(dir / "data") + " --split " +
                       split + " --json");
    ASSERT_EQ(e.rc, 0) << e.err;
    const auto got = nlohmann::json::parse(e.out);
    const auto& want = spec.at("metrics");
    EXPECT_EQ(got.at("images"), want.at("images"));
    for (const auto& [key, t] : tol.items()) {
      SCOPED_TRACE(key);
      ASSERT_TRUE(want.contains(key));
      ASSERT_TRUE(got.at(key).is_number()) << got.dump();
      EXPECT_NEAR(got.at(key).get<double>(), want.at(key).get<double>(), t.get<double>());
      EXPECT_NE(card_md.find(card_format(key, want.at(key).get<double>())), std::string::npos)
          << "card.md does not print " << card_format(key, want.at(key).get<double>());
    }
  }
}

// The bundled SeTokim, likewise: VQA accuracy (overall and per question type) and the POPE probe
// on the card's splits, against resources/models/setokim-small/metrics.json.
TEST(BundledModel, SetokimReachesTheFiguresOfItsCard) {
  const fs::path model = fs::path(SETOK_MODELS) / "setokim-small";
  ASSERT_TRUE(fs::exists(model / "config.json")) << "the bundled SeTokim is missing: " << model;
  const nlohmann::json card = nlohmann::json::parse(read_bytes(model / "metrics.json"));
  const std::string card_md = read_bytes(model / "card.md");
  const double tol = card.at("tolerance").get<double>();
  ASSERT_FALSE(card.at("splits").empty());
  TempDir dir;
  auto pct = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * v);
    return std::string(buf);
  };
  for (const auto& [split, spec] : card.at("splits").items()) {
    SCOPED_TRACE(split);
    auto g =
        setok_cli("data scenes --out " + shell_quote(dir / "data") + " " + spec.at("data_args").get<std::string>());
    ASSERT_EQ(g.rc, 0) << g.err;
    const std::string common = " -m " + shell_quote(model) + " --data " + shell_quote(dir / "data") + " --split " +
                               split + " --limit " + std::to_string(spec.at("limit").get<int>()) + " --json";
    // vqa_plain (optional): the VQA questions asked without the prompt its drop_suffix names.
    for (const char* kind : {"vqa", "pope", "vqa_plain"}) {
      SCOPED_TRACE(kind);
      if (std::string(kind) == "vqa_plain" && !spec.contains(kind)) continue;
      const std::string cmd = std::string(kind) == "vqa_plain"
                                  ? "eval vqa" + common + " --drop-suffix " +
                                        shell_quote(spec.at(kind).at("drop_suffix").get<std::string>())
                                  : std::string("eval ") + kind + common;
      auto e = setok_cli(cmd);
      ASSERT_EQ(e.rc, 0) << e.err;
      const auto got = nlohmann::json::parse(e.out);
      const auto& want = spec.at(kind);
      EXPECT_EQ(got.at("questions"), want.at("questions"));
      EXPECT_NEAR(got.at("accuracy").get<double>(), want.at("accuracy").get<double>(), tol);
      EXPECT_NE(card_md.find(pct(want.at("accuracy").get<double>())), std::string::npos)
          << "card.md does not print " << pct(want.at("accuracy").get<double>());
      if (want.contains("by_type")) {
        for (const auto& [type, t] : want.at("by_type").items()) {
          EXPECT_NEAR(got.at("by_type").at(type).at("accuracy").get<double>(), t.at("accuracy").get<double>(), tol)
              << type;
        }
      }
    }
  }
}

// The bundled SeTokim's domain profile: a photo and a word it never trained on get a note on
// stderr; a scene of its world asked in its own words gets none. The scene comes from the world's
// generator (deterministic), so no photo of a scene is assumed.
TEST(BundledModel, ChatSaysWhenAnImageOrAWordIsOutsideWhatTheModelKnows) {
  if (!fs::exists(fs::path(SETOK_MODELS) / "setokim-small" / "domain.json")) GTEST_SKIP() << "no domain profile";
  TempDir d;
  ASSERT_EQ(setok_cli("data scenes --out " + shell_quote(d / "w") + " --count 2 --split test --size 128 --no-edits").rc,
            0);
  const std::string photo = shell_quote(std::string(SETOK_SAMPLES) + "/coffee.png");
  ProcessResult r = setok_cli("chat --image " + photo + " 'Describe the image in detail.'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("coffee.png is unlike the images setokim-small was trained on"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"detail\""), std::string::npos) << r.err;
  r = setok_cli("chat --image " + shell_quote(d / "w/images/test_0000000.png") + " 'Describe the image briefly.'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err.find("note:"), std::string::npos) << r.err;
  EXPECT_FALSE(r.out.empty());
}

// The bundled SeTokim's mask decoder: referring expressions and clicks on a slice of the test
// split, against the "refseg" block of resources/models/setokim-small/metrics.json.
TEST(BundledModel, MaskDecoderReachesTheFiguresOfItsCard) {
  const fs::path model = fs::path(SETOK_MODELS) / "setokim-small";
  const nlohmann::json card = nlohmann::json::parse(read_bytes(model / "metrics.json"));
  if (!card.contains("refseg")) GTEST_SKIP() << "no mask decoder figures in metrics.json";
  const auto& want = card.at("refseg");
  const double tol = card.at("tolerance").get<double>();
  TempDir dir;
  auto g = setok_cli("data scenes --out " + shell_quote(dir / "data") + " " + want.at("data_args").get<std::string>());
  ASSERT_EQ(g.rc, 0) << g.err;
  auto e = setok_cli("eval refseg -m " + shell_quote(model) + " --data " + shell_quote(dir / "data") + " --split " +
                     want.at("split").get<std::string>() + " --limit " + std::to_string(want.at("limit").get<int>()) +
                     " --max-clicks " + std::to_string(want.at("max_clicks").get<int>()) +
                     " --no-best-token --json --per-object " + shell_quote(dir / "objects.jsonl"));
  ASSERT_EQ(e.rc, 0) << e.err;
  const auto got = nlohmann::json::parse(e.out);
  // The per-object lines add up to the figures.
  std::istringstream lines(read_bytes(dir / "objects.jsonl"));
  std::int64_t objects = 0, sentences = 0;
  double first = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto o = nlohmann::json::parse(line);
    sentences += static_cast<std::int64_t>(o.at("sentences").size());
    if (o.at("clicks").empty()) continue;  // an object hidden behind others: nothing to click on
    EXPECT_GT(o.at("area").get<std::int64_t>(), 0);
    first += o.at("clicks").at(0).get<double>();
    ++objects;
  }
  ASSERT_EQ(objects, got.at("clicks").at("objects").get<std::int64_t>());
  EXPECT_NEAR(first / static_cast<double>(objects), got.at("clicks").at("mIoU@1").get<double>(), 1e-9);
  EXPECT_EQ(sentences, got.at("sentences").get<std::int64_t>());
  EXPECT_EQ(got.at("sentences"), want.at("sentences"));
  EXPECT_NEAR(got.at("referring").at("all").at("gIoU").get<double>(), want.at("gIoU").get<double>(), tol);
  EXPECT_NEAR(got.at("referring").at("all").at("cIoU").get<double>(), want.at("cIoU").get<double>(), tol);
  EXPECT_NEAR(got.at("clicks").at("mIoU@1").get<double>(), want.at("mIoU@1").get<double>(), tol);
  EXPECT_NEAR(got.at("clicks").at("mIoU@3").get<double>(), want.at("mIoU@3").get<double>(), tol);
  ASSERT_EQ(got.at("clicks").at("first_click"), "token under it");  // the tools' default
  if (want.contains("mIoU@1_click_alone")) {                        // the first click by itself, SAM's way
    EXPECT_NEAR(got.at("clicks").at("mIoU@1_other").get<double>(), want.at("mIoU@1_click_alone").get<double>(), tol);
  }
  if (want.contains("chat_seg_rate")) {  // Stage II: the same sentences asked in a chat
    EXPECT_NEAR(got.at("chat").at("seg_rate").get<double>(), want.at("chat_seg_rate").get<double>(), tol);
    EXPECT_NEAR(got.at("chat").at("gIoU").get<double>(), want.at("chat_gIoU").get<double>(), tol);
  }
}

// Stage II: the bundled SeTokim answers a referring request with [SEG] in chat, and the mask that
// stands for it is the mask decoder's answer to that request (what `setok segment` draws); a
// question about the image gets words, not [SEG].
TEST(BundledModel, ChatAnswersASegmentRequestWithTheDecodersMask) {
  const fs::path model = fs::path(SETOK_MODELS) / "setokim-small";
  const auto cfg = nlohmann::json::parse(read_bytes(model / "config.json"));
  if (!fs::exists(model / "mask_decoder.json") || cfg["text_config"]["vocab_size"].get<int>() <= 512)
    GTEST_SKIP() << "the bundled SeTokim has no [SEG]";
  TempDir d;
  ASSERT_EQ(setok_cli("data scenes --out " + shell_quote(d / "w") + " --count 4 --split test --size 128 --no-edits").rc,
            0);
  const auto refs = nlohmann::json::parse(read_bytes(d / "w/annotations/refs_test.json"));
  int asked = 0;
  for (const auto& ref : refs) {
    if (asked == 3) break;
    const std::string image = shell_quote(d / ("w/" + ref["file_name"].get<std::string>()));
    const std::string sent = ref["sentences"][1]["sent"].get<std::string>();
    const std::string chat_mask = d / ("chat" + std::to_string(asked) + ".png");
    const std::string seg_mask = d / ("segment" + std::to_string(asked) + ".png");
    ProcessResult c = setok_cli("chat --image " + image + " " + shell_quote("Segment " + sent + ".") + " --mask " +
                                shell_quote(chat_mask));
    ASSERT_EQ(c.rc, 0) << c.err;
    EXPECT_NE(c.out.find("[SEG]"), std::string::npos) << sent << ": " << c.out;
    ProcessResult s = setok_cli("segment " + image + " " + shell_quote(sent) + " --mask " + shell_quote(seg_mask));
    ASSERT_EQ(s.rc, 0) << s.err;
    EXPECT_EQ(read_bytes(chat_mask), read_bytes(seg_mask)) << sent;
    ++asked;
  }
  ProcessResult q = setok_cli("chat --image " + shell_quote(d / "w/images/test_0000000.png") +
                              " 'How many objects are there? Answer with a single word or number.'");
  ASSERT_EQ(q.rc, 0) << q.err;
  EXPECT_EQ(q.out.find("[SEG]"), std::string::npos) << q.out;
  EXPECT_FALSE(q.out.empty());
}
