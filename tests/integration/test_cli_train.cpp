// setok train setok and setok eval setok end to end, on a small generated scenes world.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/run_process.h"
#include "tests/support/toy_scenes.h"

using namespace setok::test;

namespace {
ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args, 600); }

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

struct TrainCli : ::testing::Test {
  static void SetUpTestSuite() {
    dir = new TempDir();
    auto r = setok_cli("data scenes --out " + shell_quote(*dir / "data") +
                       " --count 16 --seed 3 --split train --size 64 --no-edits");
    ASSERT_EQ(r.rc, 0) << r.err;
    nlohmann::json cfg = {{"model", ToyScenes::tiny_model().to_json()},
                          {"train_data", *dir / "data"},
                          {"out", *dir / "run"},
                          {"batch_size", 4},
                          {"steps", 4},
                          {"warmup_steps", 1},
                          {"checkpoint_every", 2},
                          {"log_every", 1},
                          {"grouping_weight", 0.5},
                          {"text_encoder", {{"dim", 32}, {"layers", 1}, {"heads", 2}}}};
    write_bytes(*dir / "cfg.json", cfg.dump());
  }
  static void TearDownTestSuite() { delete dir; }
  static TempDir* dir;
};
TempDir* TrainCli::dir = nullptr;
}  // namespace

TEST_F(TrainCli, TrainsWithJsonProgressThenEvaluates) {
  auto r = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto events = json_lines(r.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["event"], "start");
  EXPECT_EQ(events.back()["event"], "done");
  int steps = 0, checkpoints = 0;
  for (const auto& e : events) {
    steps += e["event"] == "step";
    checkpoints += e["event"] == "checkpoint";
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(checkpoints, 2);
  EXPECT_TRUE(std::filesystem::exists(*dir / "run/model/model.safetensors"));

  auto ev = setok_cli("eval setok -m " + shell_quote(*dir / "run/model") + " --data " + shell_quote(*dir / "data") +
                      " --json");
  ASSERT_EQ(ev.rc, 0) << ev.err;
  auto j = nlohmann::json::parse(ev.out);
  EXPECT_EQ(j["images"], 16);
  EXPECT_GT(j["psnr_db"].get<double>(), 0.0);
  EXPECT_GE(j["concept_top1"].get<double>(), 0.0);
  EXPECT_LE(j["concept_top1"].get<double>(), 1.0);
  EXPECT_GE(j["tokens_per_image"].get<double>(), 1.0);
  EXPECT_TRUE(j.contains("fg_ari"));
  EXPECT_TRUE(j.contains("miou"));
}

TEST_F(TrainCli, PausesAndResumes) {
  auto r = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "p") +
                     " --stop-at 2 --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).back()["event"], "paused");
  auto c = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "p") +
                     " --resume " + shell_quote(*dir / "p/checkpoint") + " --progress jsonl");
  ASSERT_EQ(c.rc, 0) << c.err;
  auto ev = json_lines(c.out);
  EXPECT_EQ(ev.front()["step"], 2);
  EXPECT_EQ(ev.back()["event"], "done");
}

TEST_F(TrainCli, BadConfigOrDataIsOneLine) {
  write_bytes(*dir / "bad.json", "{\"steps\": -3}");
  for (std::string args : {"train setok --config " + shell_quote(*dir / "bad.json"),
                           "train setok --config " + shell_quote(*dir / "absent.json"),
                           "train setok --config " + shell_quote(*dir / "cfg.json") + " --data " + shell_quote(*dir / "nowhere"),
                           "eval setok -m " + shell_quote(*dir / "nowhere") + " --data " + shell_quote(*dir / "data")}) {
    SCOPED_TRACE(args);
    auto r = setok_cli(args);
    EXPECT_EQ(r.rc, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("setok: ", 0), 0u) << r.err;
  }
}
