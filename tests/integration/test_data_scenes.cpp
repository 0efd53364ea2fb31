// `setok data scenes` as a user runs it: the files it promises, parseable, and one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/run_process.h"

using namespace setok::test;

namespace {
ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args, 300); }
}  // namespace

TEST(CliDataScenes, WritesImagesAndEveryAnnotationFile) {
  TempDir d;
  const std::string out = d / "scenes";
  auto r = setok_cli("--json data scenes --out " + shell_quote(out) +
                     " --count 8 --seed 3 --split test --size 64 --threads 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["images"], 8);
  EXPECT_GT(summary["images_per_second"].get<double>(), 0);
  EXPECT_NE(r.err.find("scenes: 8/8 images"), std::string::npos) << r.err;
  int pngs = 0;
  for (const auto& e : std::filesystem::directory_iterator(out + "/images")) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, 8);
  EXPECT_FALSE(std::filesystem::is_empty(out + "/edits"));
  for (const char* f : {"instances_test.json", "captions_test.json", "refs_test.json", "llava_test.json"}) {
    auto j = nlohmann::json::parse(read_bytes(out + "/annotations/" + f));
    EXPECT_FALSE(j.empty()) << f;
  }
  auto inst = nlohmann::json::parse(read_bytes(out + "/annotations/instances_test.json"));
  EXPECT_EQ(inst["images"].size(), 8u);
  EXPECT_TRUE(inst["annotations"][0]["segmentation"]["counts"].is_string());
  EXPECT_EQ(count_lines(read_bytes(out + "/annotations/prompts_test.jsonl")), 8);
  EXPECT_GT(count_lines(read_bytes(out + "/annotations/edits_test.jsonl")), 8);
  // No temporary files left behind by the atomic writes.
  for (const auto& e : std::filesystem::recursive_directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(CliDataScenes, ErrorsAreOneLine) {
  TempDir d;
  auto bad_split = setok_cli("data scenes --out " + shell_quote(d / "x") + " --count 2 --split training");
  EXPECT_EQ(bad_split.rc, 2);
  EXPECT_EQ(count_lines(bad_split.err), 1) << bad_split.err;
  write_bytes(d / "file", "x");
  auto not_dir = setok_cli("data scenes --out " + shell_quote(d / "file") + " --count 2");
  EXPECT_EQ(not_dir.rc, 1);
  EXPECT_EQ(count_lines(not_dir.err), 1) << not_dir.err;
  EXPECT_EQ(not_dir.err.rfind("setok: ", 0), 0u) << not_dir.err;
  auto no_count = setok_cli("data scenes --out " + shell_quote(d / "y"));
  EXPECT_EQ(no_count.rc, 2);
}

// The extra question options reach the files: the LLaVA conversations carry the questions (typed,
// answered with the words the options promise), the COCO info records the options, and values
// out of range are one-line usage errors.
TEST(CliDataScenes, ExtraPositionAndWhereQuestionsAreWrittenAndRecorded) {
  TempDir d;
  const std::string out = d / "scenes";
  auto r = setok_cli("data scenes --out " + shell_quote(out) +
                     " --count 20 --split train --size 64 --no-edits --position-questions 3 --where-questions 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  int positions = 0, wheres = 0;
  const std::set<std::string> ninths = {"top left", "top",         "top right", "left",        "middle",
                                        "right",    "bottom left", "bottom",    "bottom right"};
  for (const auto& conv : nlohmann::json::parse(read_bytes(out + "/annotations/llava_train.json"))) {
    const auto& turns = conv["conversations"];
    for (std::size_t k = 0; k + 1 < turns.size(); ++k) {
      const std::string type = turns[k].value("type", "");
      const std::string answer = turns[k + 1]["value"];
      if (type == "position") {
        ++positions;
        EXPECT_TRUE(answer == "yes" || answer == "no") << answer;
      }
      if (type == "where") {
        ++wheres;
        EXPECT_EQ(ninths.count(answer), 1u) << answer;
      }
    }
  }
  EXPECT_GT(positions, 20);
  EXPECT_GT(wheres, 20);
  auto info = nlohmann::json::parse(read_bytes(out + "/annotations/instances_train.json"))["info"];
  EXPECT_EQ(info["position_questions"], 3);
  EXPECT_EQ(info["where_questions"], 2);
  for (const char* bad : {"--position-questions 16", "--where-questions -1"}) {
    auto e = setok_cli("data scenes --out " + shell_quote(d / "x") + " --count 2 " + bad);
    EXPECT_EQ(e.rc, 2) << bad;
    EXPECT_EQ(count_lines(e.err), 1) << e.err;
  }
}
